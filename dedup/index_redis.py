"""A shared live index in Redis, for several ingest workers checking and adding at once.

Selected by a URL: ``redis://HOST:PORT/DB?prefix=NAME`` (``rediss://`` for TLS, a password
as ``redis://:PASSWORD@HOST``); every key starts with ``NAME:`` so several indexes can share
one server. Same interface and same findings as the SQLite file (:mod:`dedup.index`).

Layout (a few hundred keys, whatever the size of the index):

* ``NAME:meta``: schema version, parameters (JSON), created/updated (UTC), ``seq`` (the last
  document handle), ``version`` (bumped by every write), ``state`` (``building`` until a
  build finishes);
* ``NAME:ids`` (id -> handle), ``NAME:doc`` (handle -> id), ``NAME:docmeta``, ``NAME:text``
  (zlib), ``NAME:sig``, ``NAME:skeys``, ``NAME:stems`` (content-word stems): one hash each,
  keyed by handle;
* ``NAME:b:<shard>``: band key -> the handles in that bucket, packed as little-endian
  uint32; ``NAME:s:<shard>``: sentence key -> the handles of its carriers. Keys are spread
  over 256 hashes so a lookup is one pipelined ``HMGET`` per shard.

Consistency without locks: a session reads (pipelined, on any connection) while one
connection ``WATCH``-es ``NAME:meta``; its writes go out in one ``MULTI``/``EXEC``, which
Redis refuses if any other writer changed the meta hash (every write bumps ``version``)
since the session began. The session then runs again on the new state. So an add is atomic
(all of it or nothing, whenever the client dies), a check with ``--add`` is checked against
exactly the state it is added to, and a read-only check whose reads straddled another
worker's write is re-run. Not for Redis Cluster (the keys of one index must share a node).

Memory: about 60-70 bytes per band entry in Redis, i.e. roughly 17 KB per document at 256
permutations plus the compressed text; see benchmarks/README.md.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from .arrays import distinct
from .config import Config
from .index import (
    SCHEMA_VERSION,
    AlreadyIndexed,
    Entry,
    Index,
    IndexInfo,
    IndexStoreError,
    NotIndexed,
    Session,
    band_keys,
    check_schema_version,
    compress,
    decompress,
    document_from,
    document_meta,
    parse_params,
    utc_now,
)
from .models import Document

try:  # optional backend: pip install 'dedup[redis]'
    import redis
    from redis.exceptions import RedisError, WatchError
except ImportError:  # pragma: no cover - exercised only without the extra
    redis = None  # type: ignore[assignment]

T = TypeVar("T")

SHARDS = 256
_PREFIX = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ENTRY = np.dtype("<u4")
#: How often a session is re-run when other workers keep writing before it can commit.
MAX_ATTEMPTS = 200


def _field(key: int) -> bytes:
    return int(key & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def _shard(key: int) -> int:
    return int(key & 0xFFFFFFFFFFFFFFFF) % SHARDS


class RedisIndex(Index):
    """An index in Redis under one key prefix."""

    backend = "redis"

    def __init__(self, url: str, *, timeout: float = 600.0) -> None:
        if redis is None:
            raise IndexStoreError(f"{url}: the Redis backend needs the redis package; install "
                                  "it with pip install 'dedup[redis]'")
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = dict(query).get("prefix", "dedup")
        if not _PREFIX.match(prefix):
            raise IndexStoreError(f"{_safe(url)}: prefix '{prefix}' may hold only letters, "
                                  "digits, '_', '.' and '-'")
        rest = [(k, v) for k, v in query if k != "prefix"]
        self.url = urlunsplit(parts._replace(query=urlencode(rest)))
        self.location = _safe(url)
        self.prefix = prefix
        self.timeout = timeout
        try:
            self.client = redis.Redis.from_url(self.url, socket_timeout=timeout,
                                               socket_connect_timeout=10)
        except (ValueError, TypeError) as e:
            raise IndexStoreError(f"{self.location}: not a usable Redis URL ({e})") from e
        self._config: Config | None = None

    # keys

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def band_hash(self, shard: int) -> str:
        return f"{self.prefix}:b:{shard}"

    def sentence_hash(self, shard: int) -> str:
        return f"{self.prefix}:s:{shard}"

    def all_keys(self) -> list[str]:
        names = ["meta", "ids", "doc", "docmeta", "text", "sig", "skeys", "stems"]
        return ([self.key(n) for n in names] + [self.band_hash(s) for s in range(SHARDS)]
                + [self.sentence_hash(s) for s in range(SHARDS)])

    # opening and creating

    @classmethod
    def open(cls, url: str, **options: Any) -> RedisIndex:
        index = cls(url, **options)
        try:
            meta = index._meta()
            if not meta:
                raise IndexStoreError(
                    f"{index.location}: no dedup index with prefix '{index.prefix}' there; "
                    f"build one with dedup index build CORPUS -o '{index.location}'")
            index._validate(meta)
        except BaseException:
            index.close()
            raise
        return index

    @classmethod
    def create(cls, url: str, config: Config, *, force: bool = False,
               **options: Any) -> RedisIndex:
        index = cls(url, **options)
        try:
            with index._errors():
                if index.client.exists(index.key("meta")) and not force:
                    raise IndexStoreError(
                        f"{index.location}: an index with prefix '{index.prefix}' already "
                        "exists; add to it with dedup index add, or replace it with --force")
                index.client.delete(*index.all_keys())
                from . import __version__

                now = utc_now()
                index.client.hset(index.key("meta"), mapping={
                    "schema_version": str(SCHEMA_VERSION),
                    "params": json.dumps(config.to_dict(), sort_keys=True),
                    "created": now, "updated": now, "built_by": __version__,
                    "seq": "0", "version": "0", "state": "ready", "id_ordered": "1",
                })
            index._config = config
        except BaseException:
            index.close()
            raise
        return index

    def _meta(self) -> dict[str, str]:
        with self._errors():
            raw = cast("dict[bytes, bytes]", self.client.hgetall(self.key("meta")))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _validate(self, meta: dict[str, str]) -> None:
        check_schema_version(self.location, meta.get("schema_version", ""))
        if meta.get("state") == "building":
            raise IndexStoreError(f"{self.location}: the build of this index did not finish; "
                                  "build it again with --force")
        self._config = parse_params(self.location, meta.get("params", ""))

    def _errors(self) -> _RedisErrors:
        return _RedisErrors(self)

    # the interface

    @property
    def config(self) -> Config:
        if self._config is None:
            self._validate(self._meta())
        assert self._config is not None
        return self._config

    def transact(self, fn: Callable[[Session], T], *, write: bool) -> T:
        with self._errors():
            for attempt in range(MAX_ATTEMPTS):
                if write:
                    with self.client.pipeline(transaction=True) as pipe:
                        pipe.watch(self.key("meta"))  # type: ignore[no-untyped-call]
                        session = _RedisSession(self)
                        result = fn(session)
                        pipe.multi()
                        session.flush(pipe)
                        try:
                            pipe.execute()
                            return result
                        except WatchError:
                            pass
                else:
                    before = self.client.hget(self.key("meta"), "version")
                    session = _RedisSession(self)
                    result = fn(session)
                    if self.client.hget(self.key("meta"), "version") == before:
                        return result
                # Another worker wrote meanwhile: run again on the new state, after a short
                # random pause so that workers that keep colliding spread out.
                time.sleep(random.uniform(0, min(0.5, 0.01 * (attempt + 1))))
        raise IndexStoreError(f"{self.location}: index is busy (other workers kept writing "
                              f"during {MAX_ATTEMPTS} attempts); try again")

    def info(self) -> IndexInfo:
        meta = self._meta()
        if not meta:
            raise IndexStoreError(f"{self.location}: no dedup index with prefix "
                                  f"'{self.prefix}' there")
        with self._errors():
            documents = int(self.client.hlen(self.key("ids")))
            pipe = self.client.pipeline(transaction=False)
            for key in self.all_keys():
                pipe.memory_usage(key)
            size = sum(int(n or 0) for n in pipe.execute())
        return IndexInfo(self.location, self.backend, documents, json.loads(meta["params"]),
                         size, meta["created"], meta["updated"], int(meta["schema_version"]),
                         meta.get("built_by", "?"), {"prefix": self.prefix})

    def close(self) -> None:
        self.client.close()

    def bulk_load(self, entries: Iterable[Entry], chunk: int = 1000) -> int:
        """Load entries into a new index in transactions of ``chunk`` documents, marked as
        building until the last one commits (an unfinished build is refused when opened)."""
        with self._errors():
            self.client.hset(self.key("meta"), "state", "building")
            loaded = 0
            batch: list[Entry] = []
            for entry in entries:
                batch.append(entry)
                if len(batch) == chunk:
                    self.add(batch)
                    loaded += len(batch)
                    batch = []
            if batch:
                self.add(batch)
                loaded += len(batch)
            self.client.hset(self.key("meta"), "state", "ready")
        return loaded


class _RedisErrors:
    """Redis errors become one-line :class:`IndexStoreError` naming the server."""

    def __init__(self, index: RedisIndex) -> None:
        self.index = index

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: object) -> None:
        if error is None or redis is None or not isinstance(error, RedisError):
            return
        location = self.index.location
        if isinstance(error, redis.exceptions.ConnectionError):
            raise IndexStoreError(f"{location}: cannot connect to Redis ({_first_line(error)}); "
                                  "is redis-server running there?") from error
        if isinstance(error, redis.exceptions.TimeoutError):
            raise IndexStoreError(f"{location}: Redis did not answer within "
                                  f"{self.index.timeout:.0f} s") from error
        raise IndexStoreError(f"{location}: Redis error ({_first_line(error)})") from error


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _RedisSession(Session):
    """Reads go straight to Redis; writes are collected and sent by :meth:`flush` in one
    MULTI/EXEC. Reads see the state when the session began, not the session's own writes,
    except for the buckets and ids an earlier add in the same session changed."""

    def __init__(self, index: RedisIndex) -> None:
        self.index = index
        self.location = index.location
        self.r = index.client
        self._values: dict[tuple[str, bytes], bytes | None] = {}
        self._hset: dict[str, dict[bytes, bytes]] = {}
        self._hdel: dict[str, set[bytes]] = {}
        self._new_ids: dict[str, int] = {}
        self._gone_ids: set[str] = set()
        self._seq: int | None = None
        self._ordered: bool | None = None
        self._max_id: str | None = None
        self._changed = False

    # reading packed hash values (with this session's pending writes on top)

    def _get(self, hashes: Sequence[str], fields: Sequence[bytes]) -> list[bytes | None]:
        out: list[bytes | None] = [None] * len(fields)
        todo: dict[str, list[int]] = {}
        for i, (h, f) in enumerate(zip(hashes, fields)):
            if (h, f) in self._values:
                out[i] = self._values[(h, f)]
            else:
                todo.setdefault(h, []).append(i)
        if todo:
            pipe = self.r.pipeline(transaction=False)
            order = list(todo.items())
            for h, positions in order:
                pipe.hmget(h, [fields[i] for i in positions])
            for (h, positions), values in zip(order, pipe.execute()):
                for i, value in zip(positions, values):
                    self._values[(h, fields[i])] = value
                    out[i] = value
        return out

    def _bucket_values(self, keys: np.ndarray) -> tuple[list[int], list[bytes | None]]:
        wanted = distinct(np.asarray(keys, dtype=np.int64)).tolist()
        values = self._get([self.index.band_hash(_shard(k)) for k in wanted],
                           [_field(k) for k in wanted])
        return wanted, values

    def count(self) -> int:
        return int(self.r.hlen(self.index.key("ids"))) + len(self._new_ids) - len(self._gone_ids)

    def existing(self, ids: Sequence[str]) -> dict[str, int]:
        ids = list(dict.fromkeys(ids))
        found: dict[str, int] = {}
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            values = self.r.hmget(self.index.key("ids"), part)
            for doc_id, value in zip(part, values):
                if value is not None and doc_id not in self._gone_ids:
                    found[doc_id] = int(value)
        for doc_id in ids:
            if doc_id in self._new_ids:
                found[doc_id] = self._new_ids[doc_id]
        return found

    def bucket_members(self, keys: np.ndarray, most: int | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
        wanted, values = self._bucket_values(keys)
        out_keys: list[np.ndarray] = []
        out_nums: list[np.ndarray] = []
        for k, v in zip(wanted, values):
            if v:
                nums = np.frombuffer(v, dtype=_ENTRY).astype(np.int64)
                out_keys.append(np.full(len(nums), k, dtype=np.int64))
                out_nums.append(nums)
        if not out_keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(out_keys), np.concatenate(out_nums)

    def bucket_sizes(self, keys: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        wanted, values = self._bucket_values(keys)
        pairs = [(k, len(v) // 4) for k, v in zip(wanted, values) if v]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        table = np.asarray(pairs, dtype=np.int64)
        return table[:, 0], table[:, 1]

    def bucket_first(self, keys: np.ndarray) -> dict[int, tuple[str, int]]:
        member_keys, member_nums = self.bucket_members(keys)
        if self.id_ordered():
            firsts: dict[int, int] = {}
            for k, num in zip(member_keys.tolist(), member_nums.tolist()):
                if k not in firsts or num < firsts[k]:
                    firsts[k] = num
            names = self.ids(firsts.values())
            return {k: (names[n], n) for k, n in firsts.items()}
        names = self.ids(member_nums.tolist())
        first: dict[int, tuple[str, int]] = {}
        for k, num in zip(member_keys.tolist(), member_nums.tolist()):
            candidate = (names[num], num)
            if k not in first or candidate < first[k]:
                first[k] = candidate
        return first

    def id_ordered(self) -> bool:
        if self._ordered is None:
            meta = cast("list[bytes | None]",
                        self.r.hmget(self.index.key("meta"), ["id_ordered", "max_id"]))
            self._ordered = meta[0] == b"1"
            self._max_id = meta[1].decode() if meta[1] is not None else None
        return self._ordered

    def carriers(self, keys: np.ndarray) -> dict[int, list[str]]:
        wanted = distinct(np.asarray(keys, dtype=np.uint64)).tolist()
        values = self._get([self.index.sentence_hash(_shard(k)) for k in wanted],
                           [_field(k) for k in wanted])
        per_key = {k: np.frombuffer(v, dtype=_ENTRY).tolist()
                   for k, v in zip(wanted, values) if v}
        names = self.ids(n for nums in per_key.values() for n in nums)
        return {k: sorted(names[n] for n in nums) for k, nums in per_key.items()}

    def _hash_values(self, name: str, nums: list[int]) -> list[bytes | None]:
        return self._get([self.index.key(name)] * len(nums), [str(n).encode() for n in nums])

    def ids(self, nums: Iterable[int]) -> dict[int, str]:
        wanted = sorted(set(nums))
        return {n: v.decode() for n, v in zip(wanted, self._hash_values("doc", wanted))
                if v is not None}

    def documents(self, nums: Iterable[int]) -> dict[int, Document]:
        wanted = sorted(set(nums))
        ids = self._hash_values("doc", wanted)
        metas = self._hash_values("docmeta", wanted)
        texts = self._hash_values("text", wanted)
        out: dict[int, Document] = {}
        for num, doc_id, meta, text in zip(wanted, ids, metas, texts):
            if doc_id is not None and meta is not None and text is not None:
                out[num] = document_from(doc_id.decode(), decompress(text),
                                         json.loads(meta)["meta"])
        return out

    def stems(self, nums: Iterable[int]) -> dict[int, np.ndarray]:
        wanted = sorted(set(nums))
        return {n: np.frombuffer(v, dtype="<u8").astype(np.uint64)
                for n, v in zip(wanted, self._hash_values("stems", wanted)) if v is not None}

    def signatures(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        perms = self.index.config.lsh.num_perm
        names = self._whole_hash("doc")
        blobs = self._whole_hash("sig")
        if names.keys() != blobs.keys():
            raise IndexStoreError(f"{self.location}: index is damaged (a document without "
                                  "its signature); rebuild it")
        handles = np.array(sorted(int(name) for name in names), dtype=np.int64)
        fields = [str(n).encode() for n in handles.tolist()]
        if any(len(blobs[f]) != perms * 4 for f in fields):
            raise IndexStoreError(f"{self.location}: index is damaged (a signature is not "
                                  f"{perms} values); rebuild it")
        data = b"".join(blobs[f] for f in fields)
        matrix = np.frombuffer(data, dtype="<u4").astype(np.uint32).reshape(len(fields), perms)
        return handles, [names[f].decode() for f in fields], matrix

    def _whole_hash(self, name: str) -> dict[bytes, bytes]:
        """Every field of the hash ``name`` (scanned a slice at a time), with this session's
        pending writes on top."""
        key = self.index.key(name)
        found = dict(self.r.hscan_iter(key, count=10_000))
        for field in self._hdel.get(key, ()):
            found.pop(field, None)
        found.update(self._hset.get(key, {}))
        return found

    # writes

    def _put(self, hash_name: str, field: bytes, value: bytes | None) -> None:
        self._values[(hash_name, field)] = value
        if value is not None:  # b"" is a value (no sentence keys, no stems); None deletes
            self._hset.setdefault(hash_name, {})[field] = value
            self._hdel.get(hash_name, set()).discard(field)
        else:
            self._hdel.setdefault(hash_name, set()).add(field)
            self._hset.get(hash_name, {}).pop(field, None)

    def _append(self, hash_for: Callable[[int], str], keys: list[int], num: int) -> None:
        hashes = [hash_for(_shard(k)) for k in keys]
        fields = [_field(k) for k in keys]
        packed = np.asarray([num], dtype=_ENTRY).tobytes()
        for h, f, v in zip(hashes, fields, self._get(hashes, fields)):
            self._put(h, f, (v or b"") + packed)

    def _drop(self, hash_for: Callable[[int], str], keys: list[int], num: int) -> None:
        hashes = [hash_for(_shard(k)) for k in keys]
        fields = [_field(k) for k in keys]
        for h, f, v in zip(hashes, fields, self._get(hashes, fields)):
            nums = np.frombuffer(v or b"", dtype=_ENTRY)
            kept = nums[nums != num]
            self._put(h, f, kept.tobytes() if len(kept) else None)

    def add(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        taken = self.existing([e.doc.id for e in entries])
        if taken:
            raise AlreadyIndexed(self.location, sorted(taken))
        if self._seq is None:
            self._seq = int(self.r.hget(self.index.key("meta"), "seq") or 0)
        ids = [e.doc.id for e in entries]
        if self.id_ordered() and (ids != sorted(ids) or (self._max_id is not None
                                                        and ids[0] <= self._max_id)):
            self._ordered = False
        self._max_id = max(max(ids), self._max_id or max(ids))
        now = utc_now()
        all_band_keys = band_keys(np.stack([e.signature for e in entries]))
        # Collect every bucket first, so that one pipelined read fetches them all.
        self._bucket_values(all_band_keys.ravel())
        skeys = [e.sentence_keys.tolist() for e in entries]
        flat = [k for ks in skeys for k in ks]
        self._get([self.index.sentence_hash(_shard(k)) for k in flat], [_field(k) for k in flat])
        for entry, keys, sentence in zip(entries, all_band_keys.tolist(), skeys):
            self._seq += 1
            num = self._seq
            name = str(num).encode()
            self._append(self.index.band_hash, keys, num)
            self._append(self.index.sentence_hash, sentence, num)
            self._put(self.index.key("ids"), entry.doc.id.encode(), name)
            self._put(self.index.key("doc"), name, entry.doc.id.encode())
            meta = {"meta": document_meta(entry.doc), "words": entry.words, "added": now}
            self._put(self.index.key("docmeta"), name, json.dumps(meta).encode())
            self._put(self.index.key("text"), name, compress(entry.doc.text))
            self._put(self.index.key("sig"), name,
                      np.asarray(entry.signature, dtype="<u4").tobytes())
            self._put(self.index.key("skeys"), name,
                      np.asarray(entry.sentence_keys, dtype="<u8").tobytes())
            self._put(self.index.key("stems"), name,
                      np.asarray(entry.stems, dtype="<u8").tobytes())
            self._new_ids[entry.doc.id] = num
            self._gone_ids.discard(entry.doc.id)
        self._changed = True

    def remove(self, ids: Sequence[str]) -> None:
        found = self.existing(ids)
        missing = sorted(set(ids) - set(found))
        if missing:
            raise NotIndexed(self.location, missing)
        for doc_id, num in found.items():
            name = str(num).encode()
            sig, skeys = self._hash_values("sig", [num])[0], self._hash_values("skeys", [num])[0]
            if sig is None or skeys is None:
                raise IndexStoreError(f"{self.location}: index is damaged (no signature for "
                                      f"'{doc_id}'); rebuild it")
            keys = band_keys(np.frombuffer(sig, dtype="<u4")).tolist()
            self._drop(self.index.band_hash, keys, num)
            self._drop(self.index.sentence_hash,
                       np.frombuffer(skeys, dtype="<u8").astype(np.uint64).tolist(), num)
            self._put(self.index.key("ids"), doc_id.encode(), None)
            for hash_name in ("doc", "docmeta", "text", "sig", "skeys", "stems"):
                self._put(self.index.key(hash_name), name, None)
            self._new_ids.pop(doc_id, None)
            self._gone_ids.add(doc_id)
        self._changed = self._changed or bool(found)

    def flush(self, pipe: Any) -> None:
        """Queue this session's writes on ``pipe`` (inside MULTI)."""
        if not self._changed:
            return
        for hash_name, fields in self._hdel.items():
            if fields:
                pipe.hdel(hash_name, *fields)
        for hash_name, mapping in self._hset.items():
            items = list(mapping.items())
            for start in range(0, len(items), 10_000):
                pipe.hset(hash_name, mapping=dict(items[start : start + 10_000]))
        meta = self.index.key("meta")
        if self._seq is not None:
            pipe.hset(meta, "seq", str(self._seq))
        if self._ordered is not None:
            pipe.hset(meta, "id_ordered", "1" if self._ordered else "0")
        if self._max_id is not None:
            pipe.hset(meta, "max_id", self._max_id)
        pipe.hset(meta, "updated", utc_now())
        pipe.hincrby(meta, "version", 1)
