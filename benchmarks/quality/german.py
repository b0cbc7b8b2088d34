"""German news text: sentences, quotes, and the rewording that editors do to agency copy.

Used by the syndication generator to write realistic re-runs of 10kGNAD articles without any
network or model: a hand-written thesaurus of news vocabulary (same grammatical form on both
sides, so that the rewritten sentence stays German), phrase rewrites, and structural rewrites
(attribution moved, adverbials and subordinate clauses fronted or moved back, sentences split
and merged). Direct speech is never reworded: outlets may re-punctuate a quote, but they do not
change what someone said.

10kGNAD dropped the quotation marks of most direct speech ("Ich gebe auf, sagte er."), so
direct speech is also recognised by an attribution tail or by first-person pronouns outside
indirect speech (Konjunktiv I), see :func:`protected_ranges`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

#: Abbreviations after which a period does not end a sentence (lower-cased, without the dot).
ABBREVIATIONS = frozenset(
    [
        "abs",
        "abg",
        "adv",
        "akad",
        "allg",
        "anm",
        "art",
        "aufl",
        "bd",
        "bes",
        "betr",
        "bspw",
        "bzgl",
        "bzw",
        "ca",
        "chr",
        "co",
        "corp",
        "dipl",
        "dkfm",
        "dr",
        "dt",
        "ebd",
        "ehem",
        "eigtl",
        "engl",
        "entspr",
        "etc",
        "ev",
        "evtl",
        "exkl",
        "fa",
        "ff",
        "fr",
        "frz",
        "gegr",
        "geb",
        "gem",
        "ges",
        "ggf",
        "gmbh",
        "hl",
        "hr",
        "hrsg",
        "ing",
        "inkl",
        "insb",
        "int",
        "jh",
        "jhs",
        "jr",
        "kap",
        "kfm",
        "kl",
        "lt",
        "ltd",
        "mag",
        "max",
        "mind",
        "min",
        "mio",
        "mrd",
        "mr",
        "mrs",
        "ms",
        "nr",
        "od",
        "pkt",
        "prof",
        "rd",
        "rel",
        "resp",
        "sen",
        "sog",
        "sr",
        "st",
        "std",
        "str",
        "tel",
        "tsd",
        "urspr",
        "usw",
        "verh",
        "vgl",
        "vs",
        "zb",
        "zt",
        "ziff",
        "zzgl",
    ]
)

_BOUNDARY = re.compile(r"[.!?…]+[\"“”»«'’)]*(?=\s+[\"„“»«(\[A-ZÄÖÜ0-9])")
_WORD_BEFORE_DOT = re.compile(r"(\w+)[.]+$")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences in ``text[start:end]``, whitespace excluded.

    A boundary is terminal punctuation followed by whitespace and a capital, digit or opening
    quote, unless the word before the period is an abbreviation, a single letter (initials,
    "u. a.") or a one- or two-digit number (German ordinals: "am 21. August").
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        before = text[max(cursor, match.start() - 40) : match.end()]
        if match.group().startswith("."):
            word = _WORD_BEFORE_DOT.search(before.rstrip("\"“”»«'’)"))
            if word is not None:
                token = word.group(1)
                if (
                    token.lower() in ABBREVIATIONS
                    or len(token) == 1
                    or (token.isdigit() and len(token) <= 2)
                ):
                    continue
        _append_span(text, cursor, match.end(), spans)
        cursor = match.end()
    _append_span(text, cursor, end, spans)
    return spans


def _append_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


# --------------------------------------------------------------------------------------------
# What must stay verbatim
# --------------------------------------------------------------------------------------------

_QUOTED = re.compile(r"„[^“”\"]*[“”\"]|\"[^\"]*\"|»[^«]*«|«[^»]*»|“[^”]*”|‚[^‘’]*[‘’]")
#: Verbs that introduce or close speech in news copy.
SPEECH_VERBS = (
    "sagte|sagten|sagt|betonte|betonten|betont|erklärte|erklärten|erklärt|meinte|meinten|meint|"
    "schrieb|schreibt|ergänzte|ergänzt|kritisierte|warnte|warnt|bekräftigte|unterstrich|"
    "versicherte|räumte|gab|hieß es|heißt es|so"
)
_ATTRIBUTION_TAIL = re.compile(rf", (?:{SPEECH_VERBS})\b[^,]{{0,80}}$")
#: Konjunktiv I forms mark indirect speech, which editors do reword (Konjunktiv II, "hätte",
#: "wäre", is as common inside direct speech and marks nothing).
_SUBJUNCTIVE = re.compile(
    r"\b(?:sei|seien|habe|werde|könne|müsse|solle|wolle|dürfe|gebe|liege|gehe|stehe|komme|"
    r"wisse|brauche|bleibe)\b"
)
_FIRST_PERSON = re.compile(
    r"\b(?:ich|Ich|wir|Wir|uns|unser|unsere|unseren|unserem|mir|mich|mein|meine|meinen)\b"
)


def protected_ranges(sentence: str) -> list[tuple[int, int]]:
    """Character ranges of ``sentence`` that are direct speech and must stay verbatim.

    Quoted text is protected, marks included. Without quotation marks (as in 10kGNAD), a
    sentence in the first person that is not indirect speech is taken as a quote; its
    attribution tail (", sagte Fink.") stays editable.
    """
    ranges = [(m.start(), m.end()) for m in _QUOTED.finditer(sentence)]
    if ranges:
        return ranges
    if _FIRST_PERSON.search(sentence) and not _SUBJUNCTIVE.search(sentence):
        tail = _ATTRIBUTION_TAIL.search(sentence)
        return [(0, tail.start() if tail else len(sentence))]
    return []


def _overlaps(start: int, end: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in ranges)


# --------------------------------------------------------------------------------------------
# Thesaurus
# --------------------------------------------------------------------------------------------

# One group per line: ``a | b | c`` are interchangeable in the same grammatical slot
# (same case, number, gender and tense), ``a > b | c`` rewrites ``a`` only. Entries are forms,
# not lemmas: German inflects, so "sagte" and "sagten" are separate entries. Lower-case keys
# also match capitalised at the start of a sentence; nouns match as written.
THESAURUS_TEXT = """
# verbs of saying and reporting
sagte | erklärte | meinte
sagten | erklärten | meinten
betonte | unterstrich | hob hervor
betonten | unterstrichen
kritisierte | bemängelte
kritisierten | bemängelten
kritisiert | bemängelt
forderte | verlangte
forderten | verlangten
fordert | verlangt
gefordert > verlangt
bestätigte | bekräftigte
bestätigten | bekräftigten
berichtete | meldete
berichteten | meldeten
hieß es | verlautete
heißt es | verlautet
teilte mit > gab bekannt
# verbs of events and figures
erhielt | bekam
erhielten | bekamen
erhält | bekommt
erhalten | bekommen
begann | startete
begannen | starteten
beginnt | startet
stieg | kletterte
stiegen | kletterten
gestiegen | geklettert
sank | fiel
sanken | fielen
gesunken > gefallen
will | möchte
benötigt | braucht
benötigen | brauchen
festgenommen > verhaftet
Festnahme | Verhaftung
starb | kam ums Leben
starben | kamen ums Leben
gestorben | ums Leben gekommen
wurde getötet | kam ums Leben
wurden getötet | kamen ums Leben
vorgestellt > präsentiert
präsentierte > stellte vor
beschlossen | verabschiedet
könnte | dürfte
geplant | vorgesehen
zeigte sich | gab sich
# connectives and adverbs
jedoch | allerdings
zudem | außerdem | darüber hinaus
bereits | schon
derzeit | aktuell | momentan | zurzeit
bislang | bisher
künftig | in Zukunft | zukünftig
erneut | wieder | abermals
offenbar | offensichtlich | anscheinend
vermutlich | wahrscheinlich
nun | jetzt
daher | deshalb | deswegen
trotzdem | dennoch
danach | anschließend | im Anschluss
in weiterer Folge > später
weiterhin | nach wie vor
immer noch | noch immer
fast | beinahe | nahezu
mindestens | zumindest
insgesamt | in Summe
erstmals | zum ersten Mal
vor allem | insbesondere | in erster Linie
unter anderem | u. a.
beispielsweise | zum Beispiel
sofort | umgehend | unverzüglich
schließlich | letztlich
ebenfalls | gleichfalls
gemeinsam | zusammen
rasch | schnell
eigentlich | im Grunde
deutlich | klar
völlig | gänzlich
seit langem | seit Langem | schon lange
auf jeden Fall | jedenfalls
bis auf weiteres | vorläufig
im Zusammenhang mit | in Verbindung mit
aufgrund | wegen | infolge
trotz | ungeachtet
eine Reihe von | mehrere
eine Vielzahl von | zahlreiche
wie etwa | wie zum Beispiel | wie beispielsweise
sowie > und | wie auch
sehr > äußerst | überaus
also | somit | folglich
weitere | zusätzliche
weiteren | zusätzlichen
wohl > vermutlich | wahrscheinlich
einige | manche
einigen | manchen
stark | kräftig
natürlich | selbstverständlich
oft | häufig | oftmals
hingegen | dagegen | wiederum
statt | anstatt
zunächst | zuerst
damals | seinerzeit
innerhalb | binnen
direkt | unmittelbar
tatsächlich | in der Tat | wirklich
genau > exakt
angesichts | in Anbetracht
vielleicht | möglicherweise
demnach | demzufolge
veröffentlicht | publiziert
getötet | umgebracht
sagt | meint
bekannt gegeben | mitgeteilt
angekündigt | in Aussicht gestellt
am Ende | schlussendlich
auf der anderen Seite | andererseits
auf der einen Seite | einerseits
vor kurzem | kürzlich | unlängst
seit Jahren > seit langem
in den kommenden Wochen | in den nächsten Wochen
in den vergangenen Tagen | in den letzten Tagen
in der Folge | daraufhin
so genannte | sogenannte
so genannten | sogenannten
# time
in diesem Jahr | heuer | dieses Jahr
im vergangenen Jahr | im Vorjahr | letztes Jahr
im kommenden Jahr | im nächsten Jahr | nächstes Jahr
in den vergangenen Jahren | in den letzten Jahren
vergangene Woche | letzte Woche
vergangenen Woche | letzten Woche
am Montag | zu Wochenbeginn
in der Nacht auf | in der Nacht zum
am Vortag | tags zuvor
am Folgetag | tags darauf
am Abend | abends
am Morgen | in der Früh
# adjectives (the ending follows the stem on both sides)
wichtige | bedeutende
wichtigen | bedeutenden
wichtiger | bedeutender
wichtig | bedeutend
umstrittene | kontroverse
umstrittenen | kontroversen
umstritten | kontrovers
ehemalige | frühere
ehemaligen | früheren
zahlreiche | viele
zahlreichen | vielen
heftige | scharfe
heftigen | scharfen
massive | erhebliche
massiven | erheblichen
starke | kräftige
starken | kräftigen
enorme | gewaltige
enormen | gewaltigen
jüngsten | letzten
jüngste | letzte
vergangenen | letzten
möglich | denkbar
schwierig > schwer
aktuellen | derzeitigen
aktuelle | derzeitige
# people and institutions
Bundeskanzler | Regierungschef
Bundeskanzlers | Regierungschefs
Bundeskanzlerin | Regierungschefin
Ministerpräsident | Regierungschef
Außenminister | Chefdiplomat
Außenministers | Chefdiplomaten
Staatsanwaltschaft | Anklagebehörde
Polizei | Exekutive
Polizisten | Beamten
Sicherheitskräfte | Einsatzkräfte
Sicherheitskräften | Einsatzkräften
Experten | Fachleute
Ermittler | Fahnder
Ermittlungen | Untersuchungen
Angeklagte | Beschuldigte
Angeklagten | Beschuldigten
Wissenschaftler | Forscher | Wissenschafter
Ärzte | Mediziner
Arzt | Mediziner
Ärzten | Medizinern
Krankenhaus | Spital
Krankenhauses | Spitals
Krankenhäuser | Spitäler
Flüchtlinge | Geflüchtete
die Flüchtlinge | die Geflüchteten
den Flüchtlingen | den Geflüchteten
der Flüchtlinge | der Geflüchteten
Menschen | Personen
Kinder | Minderjährige
Kindern | Minderjährigen
Demonstranten > Protestierende
den Demonstranten | den Protestierenden
der Demonstranten | der Protestierenden
die Demonstranten | die Protestierenden
Vereinigten Staaten | USA
die EU | die Europäische Union
der EU | der Europäischen Union
Nachrichtenagentur | Agentur
Aussendung | Presseaussendung | Mitteilung
Pressekonferenz | Medienkonferenz
Umsatz | Erlös
Umsätze | Erlöse
Gewinn | Profit
Studie | Untersuchung
Angaben | Informationen
Vorwürfe | Anschuldigungen
den Vorwürfen | den Anschuldigungen
Gespräche | Verhandlungen
Gesprächen | Verhandlungen
Maßnahmen | Schritte
den Maßnahmen | den Schritten
Zahl | Anzahl
Ergebnis | Resultat
Ergebnisse | Resultate
Länder | Staaten
Ländern | Staaten
Auto | Fahrzeug
Autos | Fahrzeuge
Unfall | Crash
Angriff | Anschlag
Streit | Konflikt
Probleme | Schwierigkeiten
Hilfe | Unterstützung
Kosten | Ausgaben
Kritiker | Gegner
Bürger | Einwohner
Treffen | Zusammentreffen
Lage | Situation
Vorschlag | Vorstoß
Beginn | Anfang
Bereich | Sektor
Chef | Leiter
Chefin | Leiterin
Präsident | Staatschef
Leute > Menschen
Firmen | Unternehmen
Nutzer | User
Smartphone | Handy
Website | Webseite
Internet > Netz
Film | Streifen
# sport
das Spiel | die Partie
dem Spiel | der Partie
des Spiels | der Partie
die Mannschaft | das Team | die Elf
Trainer | Coach
Tore | Treffer
Sieg | Erfolg
Siege | Erfolge
Niederlage | Pleite
Saison | Spielzeit
Verein | Klub
Vereins | Klubs
Spitzenreiter | Tabellenführer
"""


@dataclass(frozen=True)
class Thesaurus:
    """A phrase table: ``key -> alternatives``, matched as whole words, longest first."""

    table: dict[str, tuple[str, ...]]
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Thesaurus:
        table: dict[str, list[str]] = {}
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if ">" in line:
                source, targets = line.split(">", 1)
                sources = [source.strip()]
                alternatives = [t.strip() for t in targets.split("|") if t.strip()]
                pairs = [(s, alternatives) for s in sources]
            else:
                members = [m.strip() for m in line.split("|") if m.strip()]
                pairs = [(m, [o for o in members if o != m]) for m in members]
            for key, alternatives in pairs:
                alts = [a for a in alternatives if a != key]
                if alts:
                    existing = table.setdefault(key, [])
                    existing.extend(a for a in alts if a not in existing)
        keys = sorted(table, key=len, reverse=True)
        variants: list[str] = []
        for key in keys:
            variants.append(re.escape(key))
            if key[0].islower():
                variants.append(re.escape(key[0].upper() + key[1:]))
        pattern = re.compile(r"(?<![\w\-])(?:" + "|".join(variants) + r")(?![\w\-])")
        return cls({k: tuple(v) for k, v in table.items()}, pattern)

    def __len__(self) -> int:
        return len(self.table)

    def matches(self, sentence: str) -> list[tuple[int, int, tuple[str, ...]]]:
        """Editable matches in ``sentence``: ``(start, end, alternatives)``, quotes skipped."""
        protected = protected_ranges(sentence)
        first = len(sentence) - len(sentence.lstrip())
        found: list[tuple[int, int, tuple[str, ...]]] = []
        for match in self.pattern.finditer(sentence):
            if _overlaps(match.start(), match.end(), protected):
                continue
            word = match.group()
            alternatives = self.table.get(word)
            if alternatives is None:
                # A capitalised form of a lower-case key: only valid at the start of a sentence.
                if match.start() != first:
                    continue
                alternatives = tuple(_upper_first(a) for a in self.table[_lower_first(word)])
            found.append((match.start(), match.end(), alternatives))
        return found


THESAURUS = Thesaurus.parse(THESAURUS_TEXT)

# Numbers written around a digit; the context makes the rewrite safe ("rund 100" but not "rund").
_NUMBER_PHRASES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(r"\b(?:rund|etwa|ungefähr|circa|ca\.) (?=\d)"),
        ("rund ", "etwa ", "ungefähr ", "circa "),
    ),
    (re.compile(r"\b(?:mehr als|über) (?=\d)"), ("mehr als ", "über ")),
    (re.compile(r"\b(?:weniger als|unter) (?=\d)"), ("weniger als ", "unter ")),
    (re.compile(r"\bim Jahr (?=(?:19|20)\d\d\b)"), ("", "im Jahr ")),
    (re.compile(r"\bnach Angaben (?:von|der Polizei)\b"), ("laut Polizei",)),
    (re.compile(r"\b[Ll]aut (?=[A-ZÄÖÜ][a-zäöüß]+ )(?!Angaben)"), ("nach Angaben von ", "laut ")),
    (re.compile(r"\b[Bb]erichten zufolge\b"), ("laut Berichten", "wie berichtet wurde")),
]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def substitute(sentence: str, rng: random.Random, rate: float) -> tuple[str, int]:
    """Replace each editable thesaurus match with probability ``rate``; returns the count."""
    edits: list[tuple[int, int, str]] = []
    for start, end, alternatives in THESAURUS.matches(sentence):
        if rng.random() < rate:
            edits.append((start, end, rng.choice(alternatives)))
    protected = protected_ranges(sentence)
    taken = [(s, e) for s, e, _ in edits]
    for pattern, alternatives in _NUMBER_PHRASES:
        for match in pattern.finditer(sentence):
            if _overlaps(match.start(), match.end(), protected + taken):
                continue
            if rng.random() < rate:
                replacement = rng.choice(alternatives)
                if match.group()[:1].isupper():
                    replacement = _upper_first(replacement)
                if replacement != match.group():
                    edits.append((match.start(), match.end(), replacement))
                    taken.append((match.start(), match.end()))
    return _apply_edits(sentence, edits), len(edits)


def substitute_one(sentence: str, rng: random.Random) -> str | None:
    """Replace one randomly chosen editable match, or ``None`` if there is none."""
    found = THESAURUS.matches(sentence)
    if not found:
        return None
    start, end, alternatives = rng.choice(found)
    return _apply_edits(sentence, [(start, end, rng.choice(alternatives))])


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# --------------------------------------------------------------------------------------------
# Structural rewrites (one sentence in, one or more sentences out, or None if not applicable)
# --------------------------------------------------------------------------------------------

#: Words whose capital letter only marks the start of a sentence (lower-cased when moved).
FUNCTION_WORDS = frozenset(
    [
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einen",
        "einem",
        "einer",
        "eines",
        "kein",
        "keine",
        "keinen",
        "er",
        "sie",
        "es",
        "man",
        "wir",
        "ich",
        "ihr",
        "dies",
        "diese",
        "dieser",
        "dieses",
        "jene",
        "alle",
        "viele",
        "mehrere",
        "beide",
        "zwei",
        "drei",
        "vier",
        "fünf",
        "sein",
        "seine",
        "ihre",
        "ihren",
        "auch",
        "am",
        "im",
        "in",
        "an",
        "auf",
        "aus",
        "bei",
        "mit",
        "nach",
        "seit",
        "von",
        "vor",
        "zu",
        "zum",
        "zur",
        "für",
        "gegen",
        "über",
        "unter",
        "zuvor",
        "bereits",
        "zuletzt",
        "inzwischen",
        "mittlerweile",
        "derzeit",
        "nun",
        "jetzt",
        "heuer",
        "damit",
        "dabei",
        "dort",
        "doch",
        "dann",
        "so",
        "noch",
        "schon",
        "nur",
        "erst",
        "bis",
        "laut",
        "wegen",
        "trotz",
        "während",
        "nachdem",
        "weil",
        "da",
        "obwohl",
        "wenn",
        "als",
        "bevor",
        "sobald",
        "falls",
        "seitdem",
        "wie",
        "was",
        "wer",
        "wo",
    ]
)


def lower_start(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first.lower() in FUNCTION_WORDS:
        return _lower_first(text)
    return text


_DET = r"(?:[Dd]er|[Dd]ie|[Dd]as|[Ee]in|[Ee]ine|[Kk]ein|[Kk]eine|[Ss]ein|[Ss]eine|[Ii]hr|[Ii]hre|[Dd]ieser|[Dd]iese|[Dd]ieses|[Aa]lle|[Vv]iele|[Mm]ehrere|[Bb]eide|\d+)"
_NOUN = r"[A-ZÄÖÜ][\w\-]*[a-zäöüß]"
_SUBJECT = (
    rf"(?:{_DET}(?: [a-zäöüß]+(?:e|en|er|es|em))* {_NOUN}(?: {_NOUN})?"
    r"|[Ee]r|[Ss]ie|[Ee]s|[Mm]an|[Ww]ir"
    rf"|{_NOUN}(?: {_NOUN}){{0,2}})"
)
_FINITE = r"[a-zäöüß]{2,}"
_NOT_VERBS = frozenset(
    [
        "und",
        "oder",
        "aber",
        "sondern",
        "denn",
        "nicht",
        "auch",
        "noch",
        "schon",
        "nur",
        "sowie",
        "bzw",
    ]
)
_WEEKDAYS = "Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag"
_MONTHS = (
    "Jänner|Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
)
_ADVERBIAL = (
    rf"(?:[Aa]m (?:{_WEEKDAYS})(?:abend|morgen|nachmittag|vormittag)?|[Aa]m Wochenende|[Aa]m Abend"
    rf"|[Aa]m Morgen|[Ii]n der Nacht|[Aa]m \d{{1,2}}\. (?:{_MONTHS})|[Ii]m (?:{_MONTHS})"
    rf"|(?:[Aa]nfang|[Ee]nde|[Mm]itte) (?:{_MONTHS}|\w+ Woche)|[Zz]uvor|[Zz]uletzt"
    r"|[Ii]nzwischen|[Mm]ittlerweile|[Dd]erzeit|[Hh]euer|[Ii]m vergangenen Jahr|[Ii]m Vorjahr"
    r"|[Vv]ergangene Woche|[Kk]ommende Woche|[Ss]eit Jahren|[Nn]ach Angaben der Polizei"
    rf"|[Ss]eit (?:{_WEEKDAYS}|{_MONTHS})|[Ii]n den (?:vergangenen|letzten|kommenden) (?:Tagen|Wochen|Monaten|Jahren)"
    r"|[Bb]isher|[Bb]islang|[Dd]amals|[Gg]estern|[Hh]eute|[Ii]m Jahr \d{4}|[Ii]n [A-ZÄÖÜ][a-zäöüß]+)"
)
_ADVERBIAL_FIRST = re.compile(
    rf"^(?P<adv>{_ADVERBIAL}) (?P<verb>{_FINITE}) (?P<subj>{_SUBJECT})(?P<rest>[ ,.].*)$"
)
_SUBJECT_FIRST = re.compile(
    rf"^(?P<subj>{_SUBJECT}) (?P<verb>{_FINITE}) (?P<adv>{_ADVERBIAL})(?P<rest>[ ,.].*)$"
)
_CONJ = "weil|da|nachdem|obwohl|wenn|als|während|bevor|seit|seitdem|sobald|falls"
_MAIN_THEN_SUB = re.compile(
    rf"^(?P<subj>{_SUBJECT}) (?P<verb>{_FINITE})(?P<main>[^,]*), (?P<conj>{_CONJ}) (?P<sub>[^,]+)\.$"
)
_SUB_THEN_MAIN = re.compile(
    rf"^(?P<conj>{_CONJ.title()}) (?P<sub>[^,]+), (?P<verb>{_FINITE}) (?P<subj>{_SUBJECT})"
    r"(?P<main>[^,]*)\.$"
)
_SPEAKER = r"(?:(?:der|die|das) [\w\-]+(?: [A-ZÄÖÜ][\w\-]+)*|[A-ZÄÖÜ][\w.\-]+(?: [A-ZÄÖÜ][\w.\-]+){0,3}|er|sie)"
_SPEECH_THEN_SPEAKER = re.compile(
    rf"^(?P<speech>.{{20,}}), (?P<verb>sagte|betonte|erklärte|meinte|ergänzte|kritisierte|warnte|schrieb|bekräftigte|unterstrich) (?P<who>{_SPEAKER})\.$"
)
_SPEAKER_AT_START = (
    r"(?:(?:Der|Die|Das) [\w\-]+(?: [A-ZÄÖÜ][\w\-]+)*|[A-ZÄÖÜ][\w.\-]+(?: [A-ZÄÖÜ][\w.\-]+){0,3})"
)
_SPEAKER_THEN_SPEECH = re.compile(
    rf"^(?P<who>{_SPEAKER_AT_START}) (?P<verb>sagte|betonte|erklärte|meinte|ergänzte|kritisierte|warnte|schrieb|bekräftigte|unterstrich)(?P<sep>[:,]) (?P<speech>.{{20,}})\.$"
)


#: Capitalised words that start sentences but are never a subject (adverbs, conjunctions,
#: prepositions); rules that move a subject check its first word against this list.
NOT_SUBJECTS = frozenset(
    [
        "so",
        "außerdem",
        "dabei",
        "damit",
        "dann",
        "denn",
        "und",
        "oder",
        "aber",
        "auch",
        "doch",
        "zudem",
        "jedoch",
        "allerdings",
        "daher",
        "deshalb",
        "deswegen",
        "trotzdem",
        "dennoch",
        "nun",
        "jetzt",
        "hier",
        "dort",
        "heute",
        "gestern",
        "morgen",
        "bereits",
        "zuletzt",
        "zuvor",
        "inzwischen",
        "mittlerweile",
        "danach",
        "dafür",
        "dagegen",
        "darüber",
        "davor",
        "seither",
        "stattdessen",
        "immerhin",
        "schließlich",
        "vielmehr",
        "zwar",
        "ebenso",
        "ebenfalls",
        "insgesamt",
        "insbesondere",
        "vor",
        "nach",
        "bei",
        "mit",
        "von",
        "aus",
        "für",
        "gegen",
        "ohne",
        "um",
        "über",
        "unter",
        "zwischen",
        "seit",
        "während",
        "wegen",
        "trotz",
        "laut",
        "nicht",
        "noch",
        "schon",
        "nur",
        "erst",
        "bis",
        "am",
        "im",
        "in",
        "an",
        "auf",
        "zum",
        "zur",
        "vom",
        "beim",
        "ins",
        "ans",
        "wie",
        "wo",
        "was",
        "warum",
        "wann",
        "wer",
        "als",
        "wenn",
        "weil",
        "da",
        "obwohl",
        "nachdem",
        "bevor",
        "sobald",
        "falls",
        "ob",
        "dass",
        "neben",
        "hinter",
        "ab",
        "etwa",
        "rund",
        "mehr",
        "weniger",
        "fast",
        "kaum",
        "bisher",
        "bislang",
        "künftig",
        "derzeit",
        "aktuell",
        "zunächst",
        "später",
        "sonst",
        "also",
        "somit",
        "folglich",
        "gleichzeitig",
        "zugleich",
        "indes",
        "indessen",
        "unterdessen",
        "ähnlich",
        "anders",
        "vorerst",
        "erneut",
        "wieder",
        "diesmal",
        "damals",
        "einst",
        "ebenso",
        "genauso",
        "besonders",
        "vor",
        "allem",
        "gerade",
        "eben",
        "sogar",
        "selbst",
        "allein",
        "umso",
        "desto",
        "je",
        "ja",
        "eher",
        "lieber",
        "bald",
        "oft",
        "häufig",
        "manchmal",
        "anfang",
        "ende",
        "mitte",
    ]
)


def _is_verb(word: str) -> bool:
    return word not in _NOT_VERBS and word not in NOT_SUBJECTS and word not in FUNCTION_WORDS


_PRONOUNS = frozenset({"er", "sie", "man", "wir"})


def _is_subject(subject: str) -> bool:
    words = subject.split(" ")
    first = words[0].lower()
    if first in NOT_SUBJECTS or first == "es":
        return False
    # A lone determiner ("Keine") is not a subject; a lone pronoun is.
    return len(words) > 1 or first not in FUNCTION_WORDS or first in _PRONOUNS


#: First words that open a main or subordinate clause with its own subject.
CLAUSE_STARTERS = frozenset(
    [
        "der",
        "die",
        "das",
        "ein",
        "eine",
        "kein",
        "keine",
        "sein",
        "seine",
        "ihr",
        "ihre",
        "dieser",
        "diese",
        "dieses",
        "alle",
        "viele",
        "mehrere",
        "beide",
        "er",
        "sie",
        "es",
        "man",
        "wir",
        "ich",
        "dann",
        "dabei",
        "damit",
        "dort",
        "hier",
        "zudem",
        "jetzt",
        "nun",
        "heute",
        "so",
        "deshalb",
        "daher",
        "trotzdem",
        "dennoch",
        "inzwischen",
        "zuletzt",
        "zuvor",
        "danach",
    ]
)


def _starts_clause(clause: str) -> bool:
    return clause.split(" ", 1)[0].lower() in CLAUSE_STARTERS


def _verb_final(clause: str) -> bool:
    """A German subordinate clause ends with its (lower-case) verb."""
    last = re.findall(r"[\wäöüß]+", clause)
    return bool(last) and last[-1][0].islower()


def move_attribution(sentence: str) -> list[str] | None:
    """ "Die Lage sei ernst, sagte Müller." <-> "Müller sagte, die Lage sei ernst."

    Direct speech keeps its words and moves behind a colon ("Müller sagte: Wir ...").
    """
    match = _SPEECH_THEN_SPEAKER.match(sentence)
    if match:
        speech, verb, who = match["speech"], match["verb"], match["who"]
        direct = not _SUBJUNCTIVE.search(speech)
        if direct:
            return [f"{_upper_first(who)} {verb}: {speech}."]
        return [f"{_upper_first(who)} {verb}, {lower_start(speech)}."]
    match = _SPEAKER_THEN_SPEECH.match(sentence)
    if match and not match["speech"].endswith(("?", "!")):
        who = match["who"]
        who = _lower_first(who) if who.split(" ", 1)[0].lower() in FUNCTION_WORDS else who
        return [f"{_upper_first(match['speech'])}, {match['verb']} {who}."]
    return None


def move_adverbial(sentence: str) -> list[str] | None:
    """ "Am Montag kündigte die Regierung ... an." <-> "Die Regierung kündigte am Montag ... an."."""
    if protected_ranges(sentence):
        return None
    match = _ADVERBIAL_FIRST.match(sentence)
    if (
        match
        and _is_verb(match["verb"])
        and _is_subject(match["subj"])
        and not match["rest"].startswith((" sich ", " und ", " oder "))
    ):
        subject = lower_start(match["subj"])
        adverbial = match["adv"]
        if adverbial.split(" ", 1)[0] not in ("Anfang", "Ende", "Mitte"):
            adverbial = _lower_first(adverbial)
        return [f"{_upper_first(subject)} {match['verb']} {adverbial}{match['rest']}"]
    match = _SUBJECT_FIRST.match(sentence)
    if match and _is_verb(match["verb"]) and _is_subject(match["subj"]):
        subject = lower_start(match["subj"])
        return [f"{_upper_first(match['adv'])} {match['verb']} {subject}{match['rest']}"]
    return None


def swap_clauses(sentence: str) -> list[str] | None:
    """ "Er feierte, nachdem er gewonnen hatte." <-> "Nachdem er gewonnen hatte, feierte er."."""
    if protected_ranges(sentence):
        return None
    match = _MAIN_THEN_SUB.match(sentence)
    if (
        match
        and _is_verb(match["verb"])
        and _is_subject(match["subj"])
        and _verb_final(match["sub"])
    ):
        subject = lower_start(match["subj"])
        return [
            f"{_upper_first(match['conj'])} {match['sub']}, {match['verb']} {subject}{match['main']}."
        ]
    match = _SUB_THEN_MAIN.match(sentence)
    if (
        match
        and _is_verb(match["verb"])
        and _is_subject(match["subj"])
        and _verb_final(match["sub"])
        and not re.fullmatch(SPEECH_VERBS, match["verb"])
        and (match["conj"] not in ("Seit", "Während", "Als", "Da") or _starts_clause(match["sub"]))
    ):
        main = f"{_upper_first(match['subj'])} {match['verb']}{match['main']}"
        return [f"{main}, {_lower_first(match['conj'])} {match['sub']}."]
    return None


_SPLIT_POINTS = re.compile(r", (und|aber|doch|denn) |; ")


def split_sentence(sentence: str) -> list[str] | None:
    """Split two main clauses joined by ", und" / ", aber" / ";" into two sentences."""
    protected = protected_ranges(sentence)
    for match in _SPLIT_POINTS.finditer(sentence):
        if _overlaps(match.start(), match.end(), protected):
            continue
        left, right = sentence[: match.start()], sentence[match.end() :]
        if word_count(left) < 5 or word_count(right) < 5:
            continue
        if not re.search(r"[.!?]$", right) or not _starts_clause(right):
            continue
        joiner = match.group(1)
        if joiner in ("aber", "doch"):
            right = f"Doch {right}"
        elif joiner == "denn":
            right = f"Denn {right}"
        else:
            right = _upper_first(right)
        return [left.rstrip(",") + ".", right]
    return None


def merge_sentences(first: str, second: str, rng: random.Random) -> str | None:
    """Join two short sentences into one, as editors do when they tighten copy."""
    if protected_ranges(first) or protected_ranges(second):
        return None
    if word_count(first) > 16 or word_count(second) > 16 or not first.endswith("."):
        return None
    joiner = rng.choice([", und ", "; ", " – "])
    return first[:-1] + joiner + lower_start(second)


# Two single-word nouns or names joined by "und", bounded by lower-case words or punctuation so
# that multi-word names ("Armin Strbac und Katharina Klausberger") are left alone.
_CONJUNCTS = re.compile(
    r"(?<=[a-zäöüß,:] )(?:sowohl )?([A-ZÄÖÜ][\w\-]+) (?:und|als auch) ([A-ZÄÖÜ][\w\-]+)(?= [a-zäöüß]|[,.;:])"
)


def swap_conjuncts(sentence: str) -> list[str] | None:
    """ "Google und Apple" -> "Apple und Google"; "sowohl A als auch B" -> "B und A"."""
    protected = protected_ranges(sentence)
    for match in _CONJUNCTS.finditer(sentence):
        if _overlaps(match.start(), match.end(), protected):
            continue
        first, second = match.group(1), match.group(2)
        if (
            first.lower() in FUNCTION_WORDS | NOT_SUBJECTS
            or second.lower() in FUNCTION_WORDS | NOT_SUBJECTS
        ):
            continue
        return [sentence[: match.start()] + f"{second} und {first}" + sentence[match.end() :]]
    return None


#: Words editors cut when they tighten copy: they carry tone, not facts.
FILLERS = re.compile(
    r" (?:nun|bereits|auch|zudem|dabei|demnach|jedoch|allerdings|derzeit|noch|schon|zuletzt|"
    r"inzwischen|mittlerweile|offenbar|jedenfalls|ebenfalls|nämlich|übrigens)(?= )"
)
_PARENTHESIS = re.compile(r" \([^()]{1,80}\)")


def tighten(sentence: str, rng: random.Random, rate: float) -> str:
    """Drop filler adverbs and parentheticals ("Tim Cook (55)"), each with ``rate``."""
    protected = protected_ranges(sentence)
    cuts = [
        (m.start(), m.end(), "")
        for pattern in (FILLERS, _PARENTHESIS)
        for m in pattern.finditer(sentence)
        if m.start() > 0 and not _overlaps(m.start(), m.end(), protected) and rng.random() < rate
    ]
    return _apply_edits(sentence, cuts)


# Weak verbs frequent in news: participle -> (3rd person singular, plural) simple past.
# Agency copy reports in the simple past, many outlets in the perfect; editors switch both ways.
_TENSE_TABLE_TEXT = """
gefordert forderte forderten | kritisiert kritisierte kritisierten | erklärt erklärte erklärten
bestätigt bestätigte bestätigten | betont betonte betonten | gewarnt warnte warnten
gemeldet meldete meldeten | berichtet berichtete berichteten | gezeigt zeigte zeigten
gesagt sagte sagten | geplant plante planten | verlangt verlangte verlangten
geführt führte führten | gespielt spielte spielten | gemacht machte machten
gestellt stellte stellten | erreicht erreichte erreichten | verkauft verkaufte verkauften
gekauft kaufte kauften | entwickelt entwickelte entwickelten | präsentiert präsentierte präsentierten
investiert investierte investierten | reagiert reagierte reagierten | diskutiert diskutierte diskutierten
verletzt verletzte verletzten | getötet tötete töteten | verhaftet verhaftete verhafteten
gestoppt stoppte stoppten | gesucht suchte suchten | erwartet erwartete erwarteten
eröffnet eröffnete eröffneten | veröffentlicht veröffentlichte veröffentlichten
unterstützt unterstützte unterstützten | verhandelt verhandelte verhandelten
beantragt beantragte beantragten | verurteilt verurteilte verurteilten | bestraft bestrafte bestraften
erhöht erhöhte erhöhten | gesenkt senkte senkten | angekündigt kündigte|an kündigten|an
"""
_TENSE: dict[str, tuple[str, str]] = {}
for _entry in " | ".join(_TENSE_TABLE_TEXT.split("\n")).split("|"):
    _parts = _entry.split()
    if len(_parts) == 3:
        _TENSE[_parts[0]] = (_parts[1], _parts[2])
_PAST_TO_PARTICIPLE = {
    form: (participle, number)
    for participle, forms in _TENSE.items()
    for number, form in enumerate(forms)
}
_PERFECT = re.compile(
    r"\b(?P<aux>hat|haben) (?P<mid>[^,.;:!?„“\"]{1,80}?) (?P<part>"
    + "|".join(_TENSE)
    + r")(?P<end>[,.;:])"
)
_PAST = re.compile(
    r"\b(?P<verb>"
    + "|".join(_PAST_TO_PARTICIPLE)
    + r") (?P<mid>[^,.;:!?„“\"]{1,80}?)(?P<end>[,.;:])"
)
_PASSIVE_PAST = re.compile(
    r"\b(?P<aux>wurde|wurden) (?P<mid>[^,.;:!?„“\"]{1,80}?) (?P<part>ge[a-zäöüß]{3,}|[a-zäöüß]{3,}iert)(?P<end>[,.;:])"
)
_PASSIVE_PERFECT = re.compile(
    r"\b(?P<aux>ist|sind) (?P<mid>[^,.;:!?„“\"]{1,80}?) (?P<part>ge[a-zäöüß]{3,}|[a-zäöüß]{3,}iert) worden(?P<end>[,.;:])"
)


def switch_tense(sentence: str) -> list[str] | None:
    """Perfect <-> simple past in a main clause ("hat ... gefordert" <-> "forderte ...";
    "wurde ... festgenommen" <-> "ist ... festgenommen worden")."""
    protected = protected_ranges(sentence)

    def free(match: re.Match[str]) -> bool:
        return not _overlaps(match.start(), match.end(), protected)

    match = _PERFECT.search(sentence)
    if match and free(match):
        past = _TENSE[match["part"]][0 if match["aux"] == "hat" else 1]
        verb, _, particle = past.partition(" ")
        if "|" in past:
            verb, particle = past.split("|")
        tail = f" {particle}" if particle else ""
        return [
            sentence[: match.start()]
            + f"{verb} {match['mid']}{tail}{match['end']}"
            + sentence[match.end() :]
        ]
    match = _PASSIVE_PAST.search(sentence)
    if match and free(match):
        aux = "ist" if match["aux"] == "wurde" else "sind"
        return [
            sentence[: match.start()]
            + f"{aux} {match['mid']} {match['part']} worden{match['end']}"
            + sentence[match.end() :]
        ]
    match = _PASSIVE_PERFECT.search(sentence)
    if match and free(match):
        aux = "wurde" if match["aux"] == "ist" else "wurden"
        return [
            sentence[: match.start()]
            + f"{aux} {match['mid']} {match['part']}{match['end']}"
            + sentence[match.end() :]
        ]
    match = _PAST.search(sentence)
    if match and free(match) and match.start() > 0 and "," not in sentence[: match.start()]:
        participle, number = _PAST_TO_PARTICIPLE[match["verb"]]
        aux = "hat" if number == 0 else "haben"
        mid = match["mid"]
        if mid.endswith(" an") and participle == "angekündigt":
            mid = mid[:-3]
        return [
            sentence[: match.start()]
            + f"{aux} {mid} {participle}{match['end']}"
            + sentence[match.end() :]
        ]
    return None


_NUMBER_WORDS = (
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
)
_NUMERAL = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r"|[2-9]|1[0-2])(?= [A-ZÄÖÜ][a-zäöüß])")


def switch_numerals(sentence: str) -> str:
    """ "drei Verletzte" <-> "3 Verletzte": house styles differ on numbers up to twelve."""
    protected = protected_ranges(sentence)

    def flip(match: re.Match[str]) -> str:
        if _overlaps(match.start(), match.end(), protected) or match.start() == 0:
            return match.group()
        word = match.group(1)
        if word.isdigit():
            return _NUMBER_WORDS[int(word) - 2]
        return str(_NUMBER_WORDS.index(word) + 2)

    return _NUMERAL.sub(flip, sentence)


STRUCTURAL_REWRITES = (
    move_attribution,
    move_adverbial,
    swap_clauses,
    swap_conjuncts,
    switch_tense,
    split_sentence,
)


def reword_sentence(
    sentence: str, rng: random.Random, *, rate: float, structure: float
) -> list[str]:
    """Heavy rewording of one sentence: structure first (with probability ``structure`` per
    applicable rule), then thesaurus substitution at ``rate``. Direct speech stays verbatim."""
    sentences = [sentence]
    for rule in STRUCTURAL_REWRITES:
        if rng.random() >= structure:
            continue
        out: list[str] = []
        for s in sentences:
            rewritten = rule(s)
            out.extend(rewritten if rewritten else [s])
        sentences = out
    out = [
        substitute(switch_numerals(tighten(s, rng, structure / 2)), rng, rate)[0] for s in sentences
    ]
    if out == [sentence]:
        # An editor who rewrites a story touches nearly every sentence it keeps.
        forced = substitute_one(sentence, rng)
        if forced is not None:
            out = [forced]
    return out
