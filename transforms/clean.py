r"""Text-level boilerplate cleaner: the article body out of a scraper's plain text.

Consumes the plain text of one scraped article (one paragraph or widget string per line, as
trafilatura or a site scraper leaves it), optionally its title from metadata and the site's
repeated line keys; emits a ``Cleaned`` with the body, the title, the byline and every removed
line with the reason it went. Sample::

    clean_text("0 $\n\nSyria Prepares Offensive Against ISIS\n\nby Jane Roe\n\n"
               "The army said on Monday that it would launch an offensive on the city within days, ...\n\n"
               "Notify of\nNewest Most Voted\nEl Diablo\n\nThis is idiot.")
    -> Cleaned(text="The army said on Monday that it would launch an offensive on the city within days, ...",
               title="Syria Prepares Offensive Against ISIS", byline="Jane Roe",
               removed=(RemovedLine(1, "0 $", "donation_appeal"),
                        RemovedLine(3, "Syria Prepares Offensive Against ISIS", "title"),
                        RemovedLine(5, "by Jane Roe", "byline"),
                        RemovedLine(9, "Notify of", "comment_widget"),
                        RemovedLine(10, "Newest Most Voted", "comment_widget"),
                        RemovedLine(11, "El Diablo", "comment_thread"),
                        RemovedLine(13, "This is idiot.", "comment_thread")),
               kept_line_nos=(7,))

Rules, in the order they run: per-line widget strings of common CMSes (WordPress, Jetpack,
wpDiscuz, Disqus, Blogger), donation, share, promo, disclaimer and navigation phrases; the
site's repeated lines; the title and its repeats; the byline in the header zone; author-bio
boxes; a comment form that ends the article; an unmarked reader-comment thread found by a
change point over per-line "chatter" scores; trailing headline lists; single lines caught
between boilerplate in the footer. Every rule prefers keeping a body line over removing it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject
from transforms.core.text import word_count
from transforms.core.urls import canonical_url

REASONS = (
    "donation_appeal",
    "comment_widget",
    "comment_thread",
    "repeated_title",
    "share_prompt",
    "related_links",
    "disclaimer",
    "promo",
    "chrome",
    "byline",
    "title",
    "site_boilerplate",
    "footer",
    "author_bio",
)


@dataclasses.dataclass(frozen=True)
class RemovedLine:
    line_no: int  # 1-based line number in the input text (split on "\n")
    text: str
    reason: str  # one of REASONS


@dataclasses.dataclass(frozen=True)
class Cleaned:
    text: str  # kept lines, stripped, one paragraph each, joined by a blank line
    title: str | None
    byline: str | None
    removed: tuple[RemovedLine, ...]
    kept_line_nos: tuple[int, ...]


# --- Tuned numbers (set on the five seeds and text_dev; see benchmarks/quality_clean.py) ---

# A kept line at least this long is article prose: it ends the header zone and anchors the body.
ANCHOR_CHARS = 120
# The header (title, byline, kicker) lives in the first few non-blank lines.
HEADER_MAX_LINES = 10
# A header line the page does not repeat is taken as the title only with this many words.
TITLE_MIN_WORDS = 5
# Site-repeated lines making up more than this share of a document's characters mean the
# document is a copy of another one (dedup handles it), not that its body is boilerplate.
SITE_LINES_MAX_SHARE = 0.5
# Only lines up to this long are candidates for site boilerplate: longer ones are prose, and
# near-duplicate articles of one site must not erase each other's paragraphs.
SITE_LINE_MAX_CHARS = 200
SITE_LINE_MAX_WORDS = 30
# Feature regexes of the comment scorer look at no more than this much of a line.
FEATURE_CHARS = 2000
# Floor of the chatter-score threshold tau: the change point maximises sum(score - tau) over a suffix.
THREAD_TAU = 0.4
# A suffix is a comment thread only with this much evidence: its summed excess, the number of
# lines carrying a strong chatter signal, and how many distinct kinds of signal they show.
THREAD_MIN_EXCESS = 1.0
THREAD_MIN_STRONG = 3
THREAD_MIN_KINDS = 2
# ... and strong lines must be at least this share of the suffix (the seeds' threads have ~20%).
THREAD_MIN_STRONG_SHARE = 0.1
# The threshold sits at least this far above the median score of the body's first lines.
THREAD_BODY_MARGIN = 0.25
# At most this many lines, each shorter than THREAD_LEAD_CHARS, open a thread before its first strong signal.
THREAD_LEAD_LINES = 2
THREAD_LEAD_CHARS = 160
# A line caught between two footer boilerplate lines is boilerplate only if shorter than this.
SANDWICH_MAX_CHARS = 400
# Trailing headline lists: at least this many short headline-like lines at the very end.
TRAILING_HEADLINES_MIN = 2
TRAILING_HEADLINE_MIN_WORDS = 6
# An all-capitals line of this many words inside the body is a link to another story; body
# headings in capitals ("IN THE HOUSE OF REPRESENTATIVES") are shorter.
SHOUTED_LINK_MIN_WORDS = 8


# --- Per-line rules: (reason, pattern, max line length to try it on) ---
# The length caps keep the rules off long paragraphs (precision) and keep matching linear.

_I = re.IGNORECASE
_MONEY = r"[$€£¥₽]"
_AMOUNT = r"\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d\d)?"
# The excerpt of another article on a listing page ("... Read More").
_TEASER = re.compile(r"(?:\.\.\.|…|\])\s*(?:read more|continue reading)\W{0,3}$", _I)

_LINE_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # Donation progress bars ("0 $", "2,500 $", "$1,000 raised") and appeals.
    (
        "donation_appeal",
        re.compile(rf"^(?:{_MONEY}\s?{_AMOUNT}|{_AMOUNT}\s?{_MONEY})$"),
        30,
    ),
    ("donation_appeal", re.compile(rf"^{_MONEY}?[\d,.]+\s?{_MONEY}?\s+(?:raised|of|goal|donated)\b", _I), 80),
    ("donation_appeal", re.compile(r"^[Ss]upport [A-Z][\w.-]+(?: [A-Z][\w.-]+)?!?$"), 40),
    (
        "donation_appeal",
        re.compile(
            r"\bpaypal(?:\s*:|\.me\b|\s+(?:button|address|account))|\bvia paypal\b|\bpatreon\.com\b|"
            r"\bon patreon\b|\bsubscribestar\b|\bbuy ?me ?a ?coffee\b|\bko-fi\.com\b|/donate\b|"
            r"\bdonate (?:now|today|here|to us|to keep)\b|\bmake a (?:\w+ )?donation\b|"
            r"\bplease (?:support|donate|consider (?:supporting|donating|a donation))\b|"
            r"\bsupport (?:us|our (?:work|journalism|reporting|project|site|mission|efforts))\b|"
            r"\bbecome a (?:patron|supporter|sustaining member)\b|\breader[- ]supported\b",
            _I,
        ),
        600,
    ),
    # Comment forms and widgets: WordPress, Jetpack, wpDiscuz, Disqus, Blogger.
    (
        "comment_widget",
        re.compile(
            r"^(?:notify (?:me )?of\b|newest\s+most voted$|oldest\s+(?:newest|most voted)$|"
            r"inline feedbacks?$|view all comments$|leave a (?:reply|comment|response)\b|cancel reply$|"
            r"post (?:a )?comment\b|add (?:a )?comment\b|comments? (?:are )?closed\b|"
            r"join the (?:discussion|conversation)\b|be the first to comment\b|start the discussion\b|"
            r"you are commenting using\b|fill in your details below\b|connecting to %s$|"
            r"(?:twitter|facebook|google|wordpress\.com) (?:picture|photo|logo)$|"
            r"your email address will not be published\b|required fields are marked\b|"
            r"save my name, email\b|(?:show|load|view) (?:more|all|\d+) (?:comments|replies)\b|"
            r"sort by (?:best|newest|oldest|top)\b|would love your thoughts, please comment\b|"
            r"(?:\d+|no|one|two|three) (?:comments?|responses?|replies|thoughts?)"
            r"(?: (?:on|to)\b.{0,200}| so far)?"
            r"\s*[:.»]?$|comments?\s*[:(]?\s*\d*\)?$|discussion\s*\(\d+\)$|"
            r"please enable javascript to view the comments\b|log in with\b|or sign up with disqus\b|"
            r"comments?\s*\((?:…|\.\.\.|\d+)\))",
            _I,
        ),
        300,
    ),
    (
        "comment_widget",
        re.compile(
            r"\blog out\s*/\s*change\b|\bcomments? powered by disqus\b|\bcomment(?:ing)? polic(?:y|ies)\b|"
            r"\badd your two cents\b|\bcomments? (?:are|is) moderated\b|\bnotify me of (?:new|follow-up)\b|"
            r"\bto join the (?:discussion|conversation)\b",
            _I,
        ),
        400,
    ),
    # Share, follow and subscribe prompts.
    (
        "share_prompt",
        re.compile(
            r"^(?:share(?: this| it| on| via| the (?:article|story|post))?(?:\s*(?:article|story|post|page))?"
            r"\s*[:!]?$|share (?:on|via|to) \w+|click to (?:share|email|print|tweet)\b|"
            r"like this:?$|like loading\b|be the first to like this\b|tweet(?: this)?$|"
            r"(?:please )?share this (?:article|story|post|video)\b|subscribe\b|sign up (?:for|to)\b|"
            r"join (?:our|my) (?:mailing list|newsletter|telegram|channel)\b|follow (?:us|me)\b|"
            r"get (?:our|the) (?:daily |weekly |free )?newsletter\b|email this\b|print this\b)",
            _I,
        ),
        150,
    ),
    (
        "share_prompt",
        re.compile(
            r"\bfollow (?:us|me) on (?:twitter|facebook|instagram|telegram|gab|youtube|x)\b|"
            r"\b(?:delivered|straight) to your inbox\b|\bsubscribe to (?:our|my) (?:newsletter|channel)\b",
            _I,
        ),
        250,
    ),
    # Related-article headers, inline "Read more:" links, listing teasers, post navigation.
    (
        "related_links",
        re.compile(
            r"^(?:related(?: posts?| articles?| stories| news| content| reading| coverage)?|"
            r"recent (?:posts?|articles?|stories)|popular(?: posts?| articles?| stories| now)?|"
            r"you (?:may|might) (?:also )?(?:like|enjoy|be interested in)|"
            r"more (?:stories|news|articles|posts|from [^.!?]{1,50})|"
            r"read (?:more|also|next)|see also|also read|"
            r"trending(?: now| stories| articles)?|most (?:read|popular|viewed|shared)|top stories|"
            r"latest (?:news|posts|articles|stories)|further reading|editor'?s picks?|"
            r"recommended(?: for you)?|"
            r"(?:«|‹|←)?\s*(?:previous|next|older|newer) (?:post|article|story|entries)\s*(?:»|›|→)?)"
            r"\s*[:»›.\-–—]*$",
            _I,
        ),
        80,
    ),
    (
        "related_links",
        re.compile(
            r"^(?:read (?:more|also|next)|see also|also read|related(?: article| story| video| content)?|"
            r"headline|trending|recommended|must read|don'?t miss|watch)\s*[:|»›]\s*\S",
            _I,
        ),
        250,
    ),
    # Teasers of a listing page ("... Read More") are other articles, whatever their length.
    ("related_links", _TEASER, 3000),
    ("related_links", re.compile(r"^read more\W{0,5}$", _I), 40),
    # Column disclaimers.
    (
        "disclaimer",
        re.compile(
            r"^disclaimer\b|\bdoes not (?:give|provide|offer) (?:any )?(?:financial|investment|medical|legal)"
            r"\b|\bviews,? (?:and )?opinions expressed\b|\bstatements, views and opinions\b|"
            r"\bsolely (?:those|the views?) of the (?:authors?|writers?|contributors?)\b",
            _I,
        ),
        600,
    ),
    ("disclaimer", re.compile(r"^(?:©|\(c\)\s|copyright\s+(?:©\s*)?\d{4})|\ball rights reserved\b", _I), 200),
    # Author and publisher promos, shop and ebook offers.
    (
        "promo",
        re.compile(
            r"^visit (?:my|our)\b|\bvisit (?:my|our) (?:new )?(?:web ?site|blog|store|shop)\b|"
            r"^(?:my|our|his|her) (?:newest|new|latest) book\b|^listen to\b.{0,200}\bradio\b|"
            r"\bclick here\b|\b\d{1,2}% off\b|\bfree shipping\b|\bfree gift\b|"
            r"\bdownload (?:a |the |your |my |our )?(?:free|\d+-page)\b|"
            r"\bavailable (?:now )?(?:on|at) amazon\b|"
            r"^(?:see|read|watch|find|get) more\b.{0,80}\b(?:at|on)\b|"
            r"\bvisit \S{2,60}\.(?:com|net|org|info|co\.uk)\b|"
            r"\b(?:order|buy|get) (?:your|my) (?:copy|book)\b|"
            r"\bsponsored content\b|\bpaid (?:content|partner)\b|\b(?:subscribe|subscription) today\b|"
            r"\bstart your (?:free )?(?:\w+ )?(?:subscription|trial)\b",
            _I,
        ),
        300,
    ),
    # Clickbait promo ("An Exclusive You Have To See: ...!"): the phrase alone is too common in prose.
    (
        "promo",
        re.compile(
            r"\b(?:you|you'll|you’ll) (?:have|need|want|got) to (?:see|read|watch|hear)\b.{0,200}(?:!|click)",
            _I,
        ),
        250,
    ),
    # Page chrome: image viewers, ad slots, "continue reading", post metadata, cookie bars.
    (
        "chrome",
        re.compile(
            r"^(?:click (?:to|on the image to|image to|here to) (?:see|view|enlarge|open)\b.{0,40}|"
            r"(?:view|see) (?:the )?full[- ]size image|click to enlarge|"
            r"advertisements?|advertisement\s*[-–—:]?\s*(?:continue reading below|scroll to continue)?|"
            r"sponsored(?: links?)?|ads? by \w+|report this ad|story continues below(?: advertisement)?|"
            r"continue reading below|continue reading\s*(?:→|»|›|\.\.\.|…)?|"
            r"(?:filed under|posted in|categories|category|tags?|tagged(?: with| as)?)\s*:.{0,280}|"
            r"skip to (?:main )?content|back to top|scroll to top|menu|search|log ?in|sign ?in|"
            r".{0,60}\bswipe\b.{0,20}|"
            r"see an? (?:error|typo|mistake)\b.{0,80}|send us a correction|"
            r"(?:this (?:site|website)|we) uses? cookies\b.{0,200}|privacy & cookies:.{0,250})$",
            _I,
        ),
        300,
    ),
    # Blog footers (WordPress.com, Blogger).
    (
        "footer",
        re.compile(
            r"^(?:blog at\b.{0,40}|up\s*↑|%d bloggers like this:?|powered by (?:wordpress|blogger)\b.{0,40}|"
            r"(?:theme|designed|design) by\b.{0,60}|create a (?:free )?website or blog at\b.{0,40}|"
            r"loading\.{0,3}|follow\s*$|website powered by\b.{0,40})$",
            _I,
        ),
        120,
    ),
    # Post metadata lines ("Posted on by willyloman") are bylines without the article's author.
    ("byline", re.compile(r"^posted (?:on|by|at)\b", _I), 120),
)

# Soft widget strings: ambiguous alone ("Reply" may be a heading), boilerplate next to boilerplate.
_SOFT_WIDGET = re.compile(
    r"^(?:what do you think\??|reply|report|like|share|flag|(?:up|down)vote|\d+ (?:likes?|votes?|points?)|"
    r"\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|guest|anonymous|"
    r"(?:your )?(?:name|email|website)\s*(?:\(required\)|\*)?|"
    r"let us know (?:what you think )?in the comments\b.*)$",
    _I,
)

# A whole line of social-network names is a share bar ("Facebook Twitter Email").
_SOCIAL_WORDS = frozenset(
    {
        *("facebook", "twitter", "x", "linkedin", "reddit", "pinterest", "whatsapp", "telegram", "email"),
        *("print", "tumblr", "pocket", "vk", "mix", "flipboard", "gab", "parler", "truth", "social"),
        *("share", "tweet", "pin", "it", "messenger", "copy", "link", "sms"),
    }
)
# Leftovers of category, byline or date templates whose values were not extracted ("in ,", "By").
_RESIDUE_WORDS = frozenset(
    {
        "in",
        "by",
        "on",
        "at",
        "and",
        "of",
        "or",
        "posted",
        "filed",
        "under",
        "tags",
        "tagged",
        "categories",
        "category",
    }
)

_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_HAS_ALNUM = re.compile(r"[^\W_]")
_DIGITS = re.compile(r"\d+")
# Unicode's combining-mark blocks: diacritics, extended, supplement, for symbols, half marks.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[\W_]+")

# "by Stephen Lendman ( – Home – Stephen Lendman)", "By Pam Martens and Russ Martens: April 4, 2016".
_BYLINE_RE = re.compile(r"^(?:written |reported |posted )?by\b\s*[:\-–—]?\s*", _I)
_BYLINE_CUT = re.compile(r"\s*(?:[(|:,•·\[]|\s[-–—]\s|\son\s|\d)")
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-Þ][\w'’.-]*|and|&|de|van|von|der|al|el|bin|da|di|la|le)$")
# An "About the author" / "About Anatoly Karlin" box heading, followed by a bio. The name is
# case-sensitive and two to four words: "About time" or "About Iran" are not author boxes.
_ABOUT_RE = re.compile(
    r"^(?:[Aa]bout|ABOUT) (?:(?:[Tt]he|THE) )?"
    r"(?:[Aa]uthors?|AUTHORS?|[Ww]riter|[Cc]olumnist|[Cc]ontributor)$|"
    r"^About ([A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,3})$"
)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|me|my|myself|mine)\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you’re|yourself)\b", _I)
_THIRD_PERSON_BIO = re.compile(
    r"^(?:he|she|they) (?:is|was|has|writes|lives|holds|teaches|worked|works)\b", _I
)
_DATE_LINE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:\d{1,2}(?:st|nd|rd|th)?\s+)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?\s+\d{4}$|"
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$",
    _I,
)
_TITLE_END_BAD = re.compile(r"[.:;,…]$|\.\.\.$")
_LIST_MARKER = re.compile(r"^(\s*)(\d{1,3})[.)]\s")
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$", _I)
_SOCIAL_URL = re.compile(
    r"(?:youtube\.com|youtu\.be|twitter\.com|x\.com|facebook\.com|t\.me|bitchute\.com|rumble\.com|"
    r"vimeo\.com|instagram\.com|tiktok\.com|imgur\.com|gab\.com)",
    _I,
)

# --- Chatter features of reader comments ---
_EMOTICON = re.compile(
    r"(?<![^\s(])[:;=][-'^]?(?:\)+|\(+|D+|P|p|O|3|/|\*)(?![^\s.,!?)])|(?<!\w)<3(?!\w)|\bxD\b"
)
_CHAT_WORDS = re.compile(r"\b(?:lol|lmao|rofl|haha(?:ha)*|hehe|omg|wtf|smh|imho|btw|fyi)\b", _I)
_ADDRESS = re.compile(
    r"\byou (?:imbeciles?|idiots?|morons?|fools?|trolls?|clowns?|liars?|hypocrites?|shills?|dummy|dumbass|"
    r"retards?|hasbara)\b|(?<![\w.(])@[A-Za-z_]\w{1,30}(?![\w@)])|"
    r"^(?:hi|hey|hello|dear|thanks|thank you|thx)\b[ ,]+(?:[A-Z][\w-]+|all|guys|everyone|folks)\b|"
    r"^(?:you are|you're|you’re) (?:so |absolutely |quite )?(?:right|wrong|correct|spot on)\b|"
    r"\b(?:great|good|nice|excellent|interesting) (?:article|post|comment|piece|point)\b|"
    r"\bi (?:totally |fully |completely )?(?:agree|disagree)\b|\bhave you noticed\b|"
    r"\bthanks for (?:the|this|your) (?:article|post|comment|reply)\b",
    _I,
)
_SHOUT_PUNCT = re.compile(r"[!?]{2,}")
_NEWS_REGISTER = re.compile(
    r"\b(?:said|says|told|according to|reported(?:ly)?|announced|stated|confirmed|percent|officials?|"
    r"spokes(?:man|woman|person)|ministry|statement)\b",
    _I,
)
_CONTRACTION = re.compile(
    r"\b(?:\w+n['’´]t|(?:i|you|we|they|it|that|there|what|he|she|who|let)['’´](?:s|re|ve|ll|d|m))\b", _I
)
_MODAL = re.compile(r"\b(?:should|would|could|must|might|will|can|shall)\b", _I)
# Hedges and interjections of conversation; news copy rarely opens with "Well," or says "I guess".
_HEDGE = re.compile(
    r"^(?:well|so|yes|no|yeah|ok|okay|oh|actually|apparently|indeed|true|exactly|agreed|wow|sure|pretty sure|"
    r"hmm|also)\b|\b(?:of course|i think|i believe|i guess|i hope|i wonder|seems|a bit|maybe|probably|"
    r"obviously|in my opinion|just|really|pretty|anyway)\b",
    _I,
)
# Careless typing: a space before punctuation, a sentence starting in lower case, a trailing "...".
_SLOPPY = re.compile(r"\s[,.;:!?](?:\s|$)|[.!?] [a-z]|\w\.\.\.(?:\s|$)|[^.!?\"”)\]]$")
_TIME_EXPR = re.compile(
    r"\b(?:on (?:mon|tues|wednes|thurs|fri|satur|sun)day|last (?:night|week|month|year|weekend)|yesterday|"
    r"earlier (?:this|today)|(?:19|20)\d\d|"
    r"(?:jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2})\b",
    _I,
)
# The signature line of an embedded tweet ("— Joe Concha (@JoeConchaTV) February 28, 2024") quotes a
# source inside the body; its @handle is not a reader addressing another.
_TWEET_SIGNATURE = re.compile(r"^[—–-]\s*[^()]{1,80}\(@\w{1,30}\)\s+\w+\.? \d{1,2}, \d{4}$")
# Comment metadata: relative timestamps, "March 3, 2024 at 10:22 am", reply/report links.
_COMMENT_META = re.compile(
    r"^(?:\d+ (?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?) ago|"
    r"(?:on )?\w+ \d{1,2},? \d{4},? at \d{1,2}:\d\d\s*(?:[ap]\.?m\.?)?|reply|report|log in to reply|"
    r"\d+ (?:likes?|replies|votes?|points?))$",
    _I,
)
_COMMENTER_NAME = re.compile(r"^[A-Z][\w'’.-]{1,20}(?: [\w'’.-]{1,20}){0,2}$")

# Reasons that mark a line as footer material (for sandwiches) and as comment-section markers.
_TAIL_REASONS = frozenset(
    {
        "promo",
        "share_prompt",
        "related_links",
        "comment_widget",
        "disclaimer",
        "chrome",
        "footer",
        "donation_appeal",
        "site_boilerplate",
        "comment_thread",
    }
)
_MARKER_REASONS = frozenset({"comment_widget", "related_links"})
# Comment-form strings after which the article never resumes.
_THREAD_START = re.compile(
    r"^(?:notify (?:me )?of\b|newest\s+most voted$|inline feedbacks?$|view all comments$|"
    r"leave a (?:reply|comment|response)\b|(?:\d+|no|one|two|three) (?:comments?|responses?|thoughts?)"
    r"(?: (?:on|to)\b.{0,200})?\s*[:.»]?$|comments? (?:are )?closed\b|join the discussion\b|"
    r"post (?:a )?comment\b|add (?:a )?comment\b|you are commenting using\b|fill in your details below\b|"
    r"comments?\s*:?$|please enable javascript to view the comments\b)",
    _I,
)


def _normalise(line: str) -> str:
    """Case-, digit-, accent- and punctuation-insensitive form of a line (CCNet's normalisation)."""
    # The combining marks NFKD splits off, dropped by one regex pass rather than a Python
    # loop per character (the loop was a tenth of cleaning's time).
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", line)).casefold()
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def line_key(line: str) -> str:
    """Normalised hash of a line, for corpus statistics: equal for lines that differ only in case,
    digits, accents, punctuation or spacing; "" for a line without words."""
    norm = _normalise(line)
    if not norm:
        return ""
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:16]


def site_line_candidates(text: str) -> set[str]:
    """The ``line_key``s of the lines of ``text`` that may count as site boilerplate.

    Only short-to-medium lines: a site's boilerplate is widget strings, banners and teasers,
    while long paragraphs that repeat across a site are syndicated or duplicated articles.
    """
    keys: set[str] = set()
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or len(line) > SITE_LINE_MAX_CHARS or len(line.split()) > SITE_LINE_MAX_WORDS:
            continue
        key = line_key(line)
        if key:
            keys.add(key)
    return keys


def _words(line: str) -> list[str]:
    return _WORD_RE.findall(line)


def _rule_reason(line: str) -> str | None:
    """The reason a line is boilerplate by its own content, or None."""
    if not _HAS_ALNUM.search(line):
        # Separators, arrows, lone punctuation ("——-", "."): nothing of the article.
        return "chrome"
    words = [w.casefold() for w in _words(line)]
    if words and all(w in _RESIDUE_WORDS for w in words) and len(line) <= 30:
        return "byline" if words == ["by"] else "chrome"
    if words and len(words) <= 12 and all(w in _SOCIAL_WORDS for w in words):
        return "share_prompt"
    # Teaser cards render their headline twice ("Title Title") when flattened to text.
    half, rest = divmod(len(line), 2)
    if rest and half >= 15 and line[half] == " " and line[:half] == line[half + 1 :]:
        return "related_links"
    size = len(line)
    for reason, pattern, max_len in _LINE_RULES:
        if size <= max_len and pattern.search(line):
            return reason
    return None


def _title_matches(line: str, norm_title: str) -> bool:
    """True when a line is the title, allowing the site-name suffix a feed title often carries."""
    norm = _normalise(line)
    if not norm or not norm_title:
        return False
    if norm == norm_title:
        return True
    # "Title | Site" in the feed vs "Title" in the text, or the reverse.
    shorter, longer = sorted((norm, norm_title), key=len)
    return len(shorter) >= 20 and len(shorter) >= 0.6 * len(longer) and longer.startswith(shorter + " ")


def _is_title_candidate(line: str) -> bool:
    if not 15 <= len(line) <= 200 or _DATE_LINE.match(line) or _BYLINE_RE.match(line):
        return False
    if _TITLE_END_BAD.search(line) or not line[0].isupper() and not line[0].isdigit():
        return False
    return len(_words(line)) >= 3


def _byline_name(line: str) -> str | None:
    """The author name of a byline line, or None if the line is not one."""
    match = _BYLINE_RE.match(line)
    if not match or len(line) > 120 or line.endswith("."):
        return None
    rest = _BYLINE_CUT.split(line[match.end() :], maxsplit=1)[0].strip()
    words = rest.split()
    if not 1 <= len(words) <= 7 or not words[0][0].isupper():
        return None
    if not all(_NAME_WORD.match(w) for w in words):
        return None
    return rest


def _is_headline_like(line: str) -> bool:
    """A short title-like line: no sentence end, no URL, several words."""
    if not 20 <= len(line) <= 150 or "http" in line or _DATE_LINE.match(line):
        return False
    if line[-1] in '.:;,"”' or not line[0].isupper():
        return False
    return len(_words(line)) >= 3


@dataclasses.dataclass
class _Doc:
    """Working state of one document: stripped lines and the reason each one goes (None keeps it)."""

    raw: list[str]
    lines: list[str]
    reasons: list[str | None]
    nonblank: list[int]

    def kept(self, i: int) -> bool:
        return bool(self.lines[i]) and self.reasons[i] is None

    def neighbours(self, pos: int) -> tuple[int | None, int | None]:
        """Indices of the non-blank lines before and after ``nonblank[pos]``."""
        prev_i = self.nonblank[pos - 1] if pos > 0 else None
        next_i = self.nonblank[pos + 1] if pos + 1 < len(self.nonblank) else None
        return prev_i, next_i

    def first_anchor(self) -> int | None:
        """Position (in ``nonblank``) of the first kept prose line."""
        for pos, i in enumerate(self.nonblank):
            if self.kept(i) and len(self.lines[i]) >= ANCHOR_CHARS:
                return pos
        return None


def _apply_site_lines(doc: _Doc, site_lines: frozenset[str]) -> None:
    if not site_lines:
        return
    keys = {i: line_key(doc.lines[i]) for i in doc.nonblank}
    total = sum(len(doc.lines[i]) for i in doc.nonblank)
    hit = [i for i in doc.nonblank if keys[i] in site_lines and len(doc.lines[i]) <= SITE_LINE_MAX_CHARS]
    if not hit or sum(len(doc.lines[i]) for i in hit) > SITE_LINES_MAX_SHARE * total:
        return
    for i in hit:
        doc.reasons[i] = "site_boilerplate"


def _apply_title(doc: _Doc, title: str | None) -> str | None:
    """Remove the title and its repeats; detect the title from the header when none is given."""
    header_end = doc.first_anchor()
    header = doc.nonblank[
        : min(header_end if header_end is not None else len(doc.nonblank), HEADER_MAX_LINES)
    ]
    if title is None or not title.strip():
        counts = Counter(_normalise(doc.lines[i]) for i in doc.nonblank if len(doc.lines[i]) <= 200)
        candidates = [i for i in header if doc.kept(i) and _is_title_candidate(doc.lines[i])]
        # A header line the page repeats (heading, image caption) is the title; else the first
        # candidate long enough not to be a short lead-in ("Winners are in bold").
        repeated = [i for i in candidates if counts[_normalise(doc.lines[i])] > 1]
        single = [i for i in candidates if len(_words(doc.lines[i])) >= TITLE_MIN_WORDS]
        chosen = (repeated or single or [None])[0]
        if chosen is None:
            return None
        title = doc.lines[chosen]
    # Scrapers leave no-break spaces in headings; the title is plain text.
    title = " ".join(title.split())
    norm_title = _normalise(title)
    # A short title ("Update") may be an ordinary line deeper in the text: only match it in the header.
    anywhere = len(norm_title) >= 15 and len(norm_title.split()) >= 3
    seen_title = False
    for i in doc.nonblank:
        if doc.reasons[i] in ("title", "repeated_title") or not (anywhere or i in header):
            continue
        if _title_matches(doc.lines[i], norm_title):
            doc.reasons[i] = "repeated_title" if seen_title or i not in header else "title"
            seen_title = True
    return title


def _apply_byline(doc: _Doc) -> str | None:
    header_end = doc.first_anchor()
    limit = min(header_end if header_end is not None else len(doc.nonblank), HEADER_MAX_LINES)
    byline = None
    for i in doc.nonblank[:limit]:
        if doc.reasons[i] not in (None, "byline"):
            continue
        name = _byline_name(doc.lines[i])
        if name:
            doc.reasons[i] = "byline"
            byline = byline or name
    return byline


def _apply_about_box(doc: _Doc) -> None:
    """An "About <Name>" box and the bio paragraphs that follow it."""
    for pos, i in enumerate(doc.nonblank):
        match = _ABOUT_RE.match(doc.lines[i]) if doc.kept(i) and pos > 0 else None
        if not match:
            continue
        name = match.group(1)
        bio = []
        for j in doc.nonblank[pos + 1 :]:
            line = doc.lines[j]
            if not doc.kept(j):
                break
            first_person = _FIRST_PERSON.search(line[:FEATURE_CHARS])
            about_name = name and (line.startswith(name) or line.startswith(name.split()[-1]))
            if first_person or about_name or _THIRD_PERSON_BIO.match(line):
                bio.append(j)
            else:
                break
        # A section heading "About Iran" followed by prose is not a bio box.
        if bio:
            for j in (i, *bio):
                doc.reasons[j] = "author_bio"


def _apply_shouted_links(doc: _Doc) -> None:
    """Inline links to other stories set in capitals inside the body (Fox News style)."""
    anchor = doc.first_anchor()
    if anchor is None:
        return
    for i in doc.nonblank[anchor + 1 :]:
        line = doc.lines[i]
        if (
            doc.kept(i)
            and len(line) <= 200
            and line[-1] != "."
            and line.isupper()
            and len(_words(line)) >= SHOUTED_LINK_MIN_WORDS
        ):
            doc.reasons[i] = "related_links"


def _apply_soft_widgets(doc: _Doc) -> None:
    for pos, i in enumerate(doc.nonblank):
        if not doc.kept(i) or len(doc.lines[i]) > 80 or not _SOFT_WIDGET.match(doc.lines[i]):
            continue
        prev_i, next_i = doc.neighbours(pos)
        if any(j is not None and doc.reasons[j] in _TAIL_REASONS for j in (prev_i, next_i)):
            doc.reasons[i] = "comment_widget"


def _thread_reason(line: str) -> str:
    return "related_links" if _is_headline_like(line) and not _FIRST_PERSON.search(line) else "comment_thread"


def _apply_thread_start(doc: _Doc) -> None:
    """After a comment form below the body, nothing of the article follows."""
    anchor = doc.first_anchor()
    if anchor is None:
        return
    for pos in range(anchor + 1, len(doc.nonblank)):
        i = doc.nonblank[pos]
        if doc.reasons[i] == "comment_widget" and _THREAD_START.match(doc.lines[i]):
            for j in doc.nonblank[pos + 1 :]:
                if doc.reasons[j] is None:
                    doc.reasons[j] = _thread_reason(doc.lines[j])
            return


def _chatter(doc: _Doc, name_counts: Counter[str]) -> tuple[list[float], list[str | None]]:
    """Per non-blank line: a score in [0, 1] of looking like a reader comment, and the kind of its
    strongest signal (None when it has only weak ones)."""
    scores: list[float] = []
    kinds: list[str | None] = []
    list_indent: list[int] = []  # indentation of the enclosing numbered lists, outermost first
    for pos, i in enumerate(doc.nonblank):
        line = doc.lines[i][:FEATURE_CHARS]
        raw = doc.raw[i][:FEATURE_CHARS]
        reason = doc.reasons[i]
        kind: str | None = None
        # Numbered lists restarting deeper inside a list are nested replies (Blogger, Disqus exports).
        marker = _LIST_MARKER.match(raw)
        if marker:
            indent, number = len(marker.group(1).expandtabs()), int(marker.group(2))
            while list_indent and list_indent[-1] > indent:
                list_indent.pop()
            if number == 1 and list_indent and indent > list_indent[-1]:
                kind = "nesting"
            if not list_indent or indent > list_indent[-1]:
                list_indent.append(indent)
        if reason is None and _TWEET_SIGNATURE.match(line):
            scores.append(THREAD_TAU)
            kinds.append(None)
            continue
        if reason is not None:
            if reason in _MARKER_REASONS:
                scores.append(1.0)
                kinds.append("marker")
            else:
                scores.append(THREAD_TAU)
                kinds.append(None)
            continue
        body = line.lstrip("•*-–· ").strip()
        body = _LIST_MARKER.sub("", " " + body).strip() if marker else body
        score = 0.15
        if _URL_LINE.match(body):
            if _SOCIAL_URL.search(body):
                kind = kind or "link"
            score += 0.35
        elif body[:1].islower() and not body.startswith(("http", "www.", "i ")) and body.split()[0].islower():
            # (A lone "i" may be a name, as the British paper "i" is; "iPhone" is a brand.)
            kind = kind or "lowercase"
        if _EMOTICON.search(line) or _CHAT_WORDS.search(line):
            kind = kind or "emoticon"
        if _ADDRESS.search(body):
            kind = kind or "address"
        if _SHOUT_PUNCT.search(line):
            kind = kind or "punct"
        if _COMMENT_META.match(line):
            kind = kind or "meta"
        prev_i, next_i = doc.neighbours(pos)
        if _COMMENTER_NAME.match(line) and len(line) <= 32 and not line.isupper() and next_i is not None:
            # A commenter's name heads a paragraph or a timestamp, and regulars come back to the
            # thread; a list of names (nominees, a cast) has names under names.
            following = doc.lines[next_i]
            if len(following) >= 40 or _COMMENT_META.match(following):
                score += 0.45
                if name_counts[line] > 1:
                    kind = kind or "name"
        # Conversation register up, news register down; weights set on the seeds' threads.
        score += 0.25 * bool(_FIRST_PERSON.search(line)) + 0.25 * bool(_SECOND_PERSON.search(line))
        score += 0.2 * ("?" in line) + 0.2 * ("!" in line) + 0.15 * (len(line) < 60)
        score += 0.2 * bool(_CONTRACTION.search(line)) + 0.1 * bool(_MODAL.search(line))
        score += 0.15 * bool(_HEDGE.search(body)) + 0.2 * bool(_SLOPPY.search(line))
        score -= 0.3 * bool(_NEWS_REGISTER.search(line)) + 0.15 * bool(_TIME_EXPR.search(line))
        score -= 0.1 * (len(line) >= 250) + 0.15 * (line.count("“") + line.count('"') >= 2)
        if kind is not None:
            score = 1.0
        scores.append(min(max(score, 0.0), 1.0))
        kinds.append(kind)
    return scores, kinds


def _apply_comment_thread(doc: _Doc) -> None:
    """Find an unmarked reader-comment thread after the body by a change point.

    The thread is the suffix of the document maximising sum(score - tau): body prose scores
    low and pulls the start down the page, chatter scores high. tau rises with the body's own
    register, so a chatty first-person essay needs louder chatter below it to count as a thread.
    The suffix must carry several strong signals of more than one kind, and it starts at most a
    couple of lines before its first strong signal, so a body ending in a question is never cut.
    """
    anchor = doc.first_anchor()
    if anchor is None:
        return
    name_counts = Counter(
        doc.lines[i] for i in doc.nonblank if len(doc.lines[i]) <= 32 and _COMMENTER_NAME.match(doc.lines[i])
    )
    scores, kinds = _chatter(doc, name_counts)
    size = len(doc.nonblank)
    sample = range(anchor, min(size, anchor + max(3, size // 3)))
    body_scores = [scores[p] for p in sample if doc.kept(doc.nonblank[p]) and kinds[p] is None]
    tau = max(THREAD_TAU, statistics.median(body_scores) + THREAD_BODY_MARGIN if body_scores else 0.0)
    best_sum, best_pos, running = 0.0, None, 0.0
    for pos in range(size - 1, anchor, -1):
        running += scores[pos] - tau
        if running > best_sum:
            best_sum, best_pos = running, pos
    if best_pos is None or best_sum < THREAD_MIN_EXCESS:
        return
    strong = [pos for pos in range(best_pos, size) if kinds[pos] is not None]
    if len(strong) < THREAD_MIN_STRONG or len({kinds[pos] for pos in strong}) < THREAD_MIN_KINDS:
        return
    if len(strong) < THREAD_MIN_STRONG_SHARE * (size - best_pos):
        return
    start = strong[0]
    # A thread may open with a short line or two before its first strong signal ("Thought of this movie!").
    while start - 1 >= best_pos and strong[0] - start < THREAD_LEAD_LINES and scores[start - 1] >= tau:
        lead = doc.lines[doc.nonblank[start - 1]]
        # A line ending in ":" introduces the body's next part; an opener talks ("!", "?", "I", "you").
        talks = "!" in lead or "?" in lead or _FIRST_PERSON.search(lead) or _SECOND_PERSON.search(lead)
        if len(lead) >= THREAD_LEAD_CHARS or lead.endswith(":") or not talks:
            break
        start -= 1
    for i in doc.nonblank[start:]:
        if doc.reasons[i] is None:
            doc.reasons[i] = "comment_thread"


def _apply_trailing_headlines(doc: _Doc) -> None:
    """Headlines of other articles listed after the body."""
    run: list[int] = []
    before: str | None = None  # reason of the removed line just above the run
    for i in reversed(doc.nonblank):
        if doc.reasons[i] is not None:
            before = doc.reasons[i]
            continue
        if not _is_headline_like(doc.lines[i]):
            break
        run.append(i)
        before = None
    if len(run) < TRAILING_HEADLINES_MIN:
        return
    # A body may end in a short list ("Blur, The Ballad of Darren"): headlines are long, or come
    # below other boilerplate.
    if before not in _TAIL_REASONS and not all(
        len(_words(doc.lines[i])) >= TRAILING_HEADLINE_MIN_WORDS for i in run
    ):
        return
    # Everything before the run must still hold prose, else the "headlines" are the article.
    if any(doc.kept(i) and len(doc.lines[i]) >= ANCHOR_CHARS for i in doc.nonblank if i < min(run)):
        for i in run:
            doc.reasons[i] = "related_links"


def _apply_sandwiches(doc: _Doc) -> None:
    """A lone kept line between two boilerplate lines, in a footer (nothing kept after it) or
    between two listing teasers, is boilerplate of the same kind."""
    tail = True  # no kept line after the current one
    for pos in range(len(doc.nonblank) - 1, -1, -1):
        i = doc.nonblank[pos]
        if not doc.kept(i):
            continue
        prev_i, next_i = doc.neighbours(pos)
        if prev_i is not None and next_i is not None and len(doc.lines[i]) <= SANDWICH_MAX_CHARS:
            before, after = doc.reasons[prev_i], doc.reasons[next_i]
            teasers = before == after == "related_links" and all(
                _TEASER.search(doc.lines[j]) for j in (prev_i, next_i)
            )
            if teasers or (tail and before in _TAIL_REASONS and after in _TAIL_REASONS):
                doc.reasons[i] = after
                continue
        tail = False


def clean_text(text: str, *, title: str | None = None, site_lines: frozenset[str] = frozenset()) -> Cleaned:
    """The article body of a scraped text, with its title, byline and each removed line's reason.

    ``title`` is the title known from metadata, if any (else it is detected from the header);
    ``site_lines`` holds the ``line_key``s that repeat across many documents of the same site.
    """
    # Line numbers count "\n" only; stripping takes the "\r" of CRLF text off each line.
    raw = (text or "").split("\n")
    lines = [line.strip() for line in raw]
    doc = _Doc(
        raw=raw, lines=lines, reasons=[None] * len(lines), nonblank=[i for i, s in enumerate(lines) if s]
    )
    for i in doc.nonblank:
        doc.reasons[i] = _rule_reason(lines[i])
    _apply_site_lines(doc, site_lines)
    found_title = _apply_title(doc, title)
    byline = _apply_byline(doc)
    _apply_about_box(doc)
    _apply_shouted_links(doc)
    _apply_soft_widgets(doc)
    _apply_thread_start(doc)
    _apply_comment_thread(doc)
    _apply_trailing_headlines(doc)
    # Again: "What do you think?" may sit on the headline list found just now.
    _apply_soft_widgets(doc)
    _apply_sandwiches(doc)

    kept = tuple(i for i in doc.nonblank if doc.reasons[i] is None)
    removed = tuple(
        RemovedLine(i + 1, lines[i], doc.reasons[i]) for i in doc.nonblank if doc.reasons[i] is not None
    )
    return Cleaned(
        text="\n\n".join(lines[i] for i in kept),
        title=found_title,
        byline=byline,
        removed=removed,
        kept_line_nos=tuple(i + 1 for i in kept),
    )


# --- Beam wrapper below ---


REJECTS_TAG = "rejects"
# Bodies shorter than this many words are not articles (a teaser, a caption, an error
# page's leftovers); news briefs run from about 40 words up.
MIN_WORDS = 20


def site_of(article: Article) -> str | None:
    """The site a document belongs to, for per-site line statistics: its URL's host."""
    if article.site:
        return article.site
    url = article.canonical_url or canonical_url(article.url)
    if not url:
        return None
    host = urlsplit(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host or None


def _site_line_keys(article: Article) -> list[tuple[tuple[str, str], int]]:
    site = site_of(article)
    if not site:
        return []
    return [((site, key), 1) for key in sorted(site_line_candidates(article.text))]


def _repeated_lines(site_key_count: tuple[tuple[str, str], int], min_docs: int) -> Iterator[tuple[str, str]]:
    (site, key), docs = site_key_count
    if docs >= min_docs:
        yield site, key


def header_of(text: str, lines: int = 8) -> str:
    """The first non-blank lines of a raw text, where a date line may stand."""
    head = []
    for line in text.splitlines():
        if line.strip():
            head.append(line.strip())
            if len(head) >= lines:
                break
    return "\n".join(head)


def clean_document(
    article: Article, site_lines: frozenset[str] = frozenset(), *, min_words: int = MIN_WORDS
) -> tuple[Article | Reject, Cleaned]:
    """The clean stage for one document: the cleaned article (or a reject when too
    little text is left), with the cleaning's account of what went and why."""
    cleaned = clean_text(article.text, title=article.title, site_lines=site_lines)
    words = word_count(cleaned.text)
    if words < min_words:
        reason = "empty_after_cleaning" if words == 0 else "too_short"
        detail = f"{words} words left after removing {len(cleaned.removed)} boilerplate lines"
        reject = Reject(
            article.source, article.url, "clean", reason, detail, article.run_id, article.ingested_at
        )
        return reject, cleaned
    return (
        dataclasses.replace(
            article,
            text=cleaned.text,
            title=article.title or cleaned.title,
            author=article.author or cleaned.byline,
            site=site_of(article),
            header=header_of(article.text),
            boilerplate_lines=len(cleaned.removed),
            removed=tuple((r.reason, r.text) for r in cleaned.removed),
        ),
        cleaned,
    )


class _CleanFn(beam.DoFn):
    def __init__(self, min_words: int) -> None:
        self._min_words = min_words
        self._cleaned = Metrics.counter(self.__class__, "cleaned")

    def process(self, article: Article, site_lines: dict[str, frozenset[str]]) -> Iterator:
        result, cleaned = clean_document(
            article, site_lines.get(site_of(article), frozenset()), min_words=self._min_words
        )
        for removed in cleaned.removed:
            Metrics.counter(self.__class__, f"removed_{removed.reason}").inc()
        if isinstance(result, Reject):
            Metrics.counter(self.__class__, f"rejected_{result.reason}").inc()
            yield beam.pvalue.TaggedOutput(REJECTS_TAG, result)
            return
        self._cleaned.inc()
        yield result


class CleanArticles(beam.PTransform):
    """Cleaned articles on ``articles``; too little text left is a reject on ``rejects``.

    Lines repeated in at least ``site_min_docs`` documents of one site in this run are
    removed as site boilerplate (CCNet-style line hashing per site).
    """

    def __init__(self, site_min_docs: int = 3, min_words: int = MIN_WORDS) -> None:
        super().__init__()
        self._site_min_docs = site_min_docs
        self._min_words = min_words

    def expand(self, articles):
        site_lines = (
            articles
            | "SiteLineCandidates" >> beam.FlatMap(_site_line_keys)
            | "CountDocsPerLine" >> beam.CombinePerKey(sum)
            | "KeepRepeatedLines" >> beam.FlatMap(_repeated_lines, self._site_min_docs)
            | "GroupLinesBySite" >> beam.GroupByKey()
            | "FreezeSiteLines" >> beam.MapTuple(lambda site, keys: (site, frozenset(keys)))
        )
        return articles | "CleanText" >> beam.ParDo(
            _CleanFn(self._min_words), site_lines=beam.pvalue.AsDict(site_lines)
        ).with_outputs(REJECTS_TAG, main="articles")
