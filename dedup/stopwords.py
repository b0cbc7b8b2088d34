"""Function words of German and English, the languages dedup is measured on.

They are left out of the content-word alignment that recognises rewrites: two articles on one
event share names and function words by necessity; what a rewrite keeps is the *order* of its
content words. Shingles and verbatim passages still use every word.
"""

from __future__ import annotations

_GERMAN = """
ab aber alle allem allen aller alles als also am an ans auch auf aus bei beim bereits bin bis
bisher bist da dabei dadurch dafür dagegen daher damit dann daran darauf darüber das dass dem
den denen denn der deren des deshalb dessen die dies diese diesem diesen dieser dieses doch
dort du durch ein eine einem einen einer eines er es etwa euch für gab gegen gibt hat hatte
hatten habe haben hier ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im immer in ins ist
ja jedoch jetzt kann kein keine keinem keinen keiner können könne könnte konnte man mehr mich
mir mit muss müssen nach nicht noch nun nur ob oder ohne rund schon sehr sei seien sein seine
seinem seinen seiner seit sich sie sind so soll sollen sollte sondern sowie sowohl um und
uns unter vom von vor war waren was weil weiter welche welcher wenn wer werde werden wie
wieder will wir wird wo wollen wollte worden wurde wurden zu zum zur zwar zwischen über
daß einmal laut sagte sagt heißt heisst hieß hiess
"""

_ENGLISH = """
a about after again all also am an and any are as at be because been before being between
both but by can could did do does during each few for from further had has have having he her
here hers him his how i if in into is it its just me more most my no nor not of off on once
only or other our ours out over own said same says she should so some such than that the their
theirs them then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours
"""

STOPWORDS: frozenset[str] = frozenset((_GERMAN + _ENGLISH).split())
