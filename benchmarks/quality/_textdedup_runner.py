"""Run the text-dedup package (0.4.0) on a JSON-lines file; print clusters as JSON.

Executed by the Python of a separate environment that has text-dedup installed (it pulls
pyspark, onnxruntime, pyarrow and datasets, about 1.3 GB), never imported by the benchmark:

    $TEXT_DEDUP_PYTHON _textdedup_runner.py docs.jsonl workdir ngram threshold num_perm

Input lines: {"id": ..., "text": ...}. Output: {"clusters": [[id, ...], ...]}.
"""

import json
import os
import pickle  # nosec: reads the file text-dedup itself just wrote
import sys


def main() -> None:
    path, workdir, ngram, threshold, num_perm = sys.argv[1:6]
    import click
    import datasets
    from text_dedup.minhash import main as minhash_main
    from text_dedup.utils import IOArgs, MetaArgs, MinHashArgs

    datasets.disable_progress_bars()
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    ids = [r["id"] for r in rows]
    dataset = datasets.Dataset.from_dict(
        {"text": [r["text"] for r in rows], "idx": list(range(len(rows)))}
    )
    input_dir = os.path.join(workdir, "input")
    output_dir = os.path.join(workdir, "output")
    dataset.save_to_disk(input_dir)
    io_args = IOArgs(
        path=input_dir,
        local=True,
        num_proc=1,
        cache_dir=os.path.join(workdir, "cache"),
        output=output_dir,
        debug=True,
        clean_cache=True,
    )
    meta_args = MetaArgs(column="text", batch_size=10000, idx_column="idx")
    minhash_args = MinHashArgs(
        num_perm=int(num_perm), ngram=int(ngram), min_length=0, threshold=float(threshold)
    )
    ctx = click.Context(minhash_main)
    # text-dedup logs to stdout; keep stdout for our JSON.
    stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        ctx.invoke(minhash_main, io_args=io_args, meta_args=meta_args, minhash_args=minhash_args)
    finally:
        sys.stdout = stdout
    with open(os.path.join(output_dir, "uf.pkl"), "rb") as f:
        uf = pickle.load(f)  # nosec
    groups: dict[int, list[str]] = {}
    for i in range(len(rows)):
        groups.setdefault(uf.find(i), []).append(ids[i])
    json.dump({"clusters": [g for g in groups.values() if len(g) > 1]}, sys.stdout)


if __name__ == "__main__":
    main()
