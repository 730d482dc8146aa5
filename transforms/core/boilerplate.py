r"""The boilerplate rule table: every phrase rule of the cleaner, each with an id, in one place.

Consumes one stripped line of text; emits the first rule that matches it (``match_rule``), or
None. Sample::

    match_rule("Share this:")  -> Rule(id="share.prompt", reason="share_prompt", ...)
    match_rule("The army said on Monday that ...")  -> None

The table holds the widget strings of common CMSes (WordPress, Jetpack, wpDiscuz, Disqus,
Blogger), donation, share, promo, disclaimer, credit and navigation phrases, and the stock
post-extraction formulas of news CMSs (advertisement labels, "Read more:" links, photo
credits, newsletter prompts) that extraction used to drop with a lexicon of its own: one
lexicon, not two. A rule is evidence, not a verdict: its reason is a feature of the line
model (``transforms/core/lines.py``), and only the rules in ``HARD_RULES`` remove a line by
themselves. Which ones those are was measured on held-out training documents (see
``training/train_line_model.py``): a hard rule must be right on nearly every line it fires on.

Structural rules (title, byline, site memory, author box) live in ``transforms/core/clean.py``;
their ids are listed in ``STRUCTURAL_RULES`` so that ``newsflow clean`` can name every one.
"""

from __future__ import annotations

import dataclasses
import functools
import re

_I = re.IGNORECASE

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
    "credit",
    "boilerplate",  # the line model's own decision, with no rule behind it
)


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    reason: str
    pattern: re.Pattern[str]
    # Tried only on lines up to this long: boilerplate is short, prose that happens to hold a
    # phrase is long (precision), and the cap keeps matching linear.
    max_chars: int
    # A rule without triggers matches at the start of the line (``re.match``). A rule with
    # triggers is searched anywhere, and only in lines that hold one of its trigger words (or
    # characters): one split of the line and a set intersection cost far less than a regex
    # scan of every line.
    words: frozenset[str] = frozenset()
    chars: str = ""

    @property
    def anchored(self) -> bool:
        return not (self.words or self.chars)

    def matches(self, line: str) -> bool:
        """Whether the rule fires on a stripped line."""
        if len(line) > self.max_chars:
            return False
        if self.anchored:
            return self.pattern.match(line) is not None
        return self.pattern.search(line) is not None


_MONEY = r"[$€£¥₽]"
_AMOUNT = r"\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d\d)?"
# The excerpt of another article on a listing page ("... Read More").
TEASER = re.compile(r"(?:\.\.\.|…|\])\s*(?:read more|continue reading)\W{0,3}$", _I)


def _rule(
    rule_id: str,
    reason: str,
    pattern: str,
    max_chars: int,
    flags: int = _I,
    words: tuple[str, ...] = (),
    chars: str = "",
) -> Rule:
    return Rule(rule_id, reason, re.compile(pattern, flags), max_chars, frozenset(words), chars)


RULES: tuple[Rule, ...] = (
    # --- Donation progress bars ("0 $", "2,500 $", "$1,000 raised") and appeals ---
    _rule("donation.amount", "donation_appeal", rf"^(?:{_MONEY}\s?{_AMOUNT}|{_AMOUNT}\s?{_MONEY})$", 30),
    _rule(
        "donation.progress",
        "donation_appeal",
        rf"^{_MONEY}?[\d,.]+\s?{_MONEY}?\s+(?:raised|of|goal|donated)\b",
        80,
    ),
    _rule(
        "donation.support_site",
        "donation_appeal",
        r"^[Ss]upport [A-Z][\w.-]+(?: [A-Z][\w.-]+)?!?$",
        40,
        0,
        words=("support",),
    ),
    _rule(
        "donation.appeal",
        "donation_appeal",
        r"\bpaypal(?:\s*:|\.me\b|\s+(?:button|address|account))|\bvia paypal\b|\bpatreon\.com\b|"
        r"\bon patreon\b|\bsubscribestar\b|\bbuy ?me ?a ?coffee\b|\bko-fi\.com\b|/donate\b|"
        r"\bdonate (?:now|today|here|to us|to keep)\b|\bmake a (?:\w+ )?donation\b|"
        r"\bplease (?:support|donate|consider (?:supporting|donating|a donation))\b|"
        r"\bsupport (?:us|our (?:work|journalism|reporting|project|site|mission|efforts))\b|"
        r"\bbecome a (?:patron|supporter|sustaining member)\b|\breader[- ]supported\b",
        600,
        words=(
            "paypal",
            "patreon",
            "subscribestar",
            "coffee",
            "fi",
            "donate",
            "donation",
            "support",
            "supporting",
            "donating",
            "patron",
            "supporter",
            "supported",
            "sustaining",
        ),
    ),
    # --- Comment forms and widgets: WordPress, Jetpack, wpDiscuz, Disqus, Blogger ---
    _rule(
        "comment.form",
        "comment_widget",
        r"^(?:notify (?:me )?of\b|newest\s+most voted$|oldest\s+(?:newest|most voted)$|"
        r"inline feedbacks?$|view all comments$|leave a (?:reply|comment|response)\b|cancel reply$|"
        r"post (?:a )?comment\b|add (?:a )?comment\b|comments? (?:are )?closed\b|"
        r"join the (?:discussion|conversation)\b|be the first to comment\b|start the discussion\b|"
        r"you are commenting using\b|fill in your details below\b|connecting to %s$|"
        r"(?:twitter|facebook|google|wordpress\.com) (?:picture|photo|logo)$|"
        r"your email address will not be published\b|required fields are marked\b|"
        r"save my name, email\b|(?:show|load|view) (?:more|all|\d+) (?:comments|replies)\b|"
        r"sort by (?:best|newest|oldest|top)\b|would love your thoughts, please comment\b|"
        r"please enable javascript to view the comments\b|log in with\b|or sign up with disqus\b|"
        r"comments?\s*\((?:…|\.\.\.|\d+)\)|discussion\s*\(\d+\)$|add yours\W*$)",
        300,
    ),
    _rule(
        "comment.count",
        "comment_widget",
        r"^(?:(?:\d+|no|one|two|three) (?:comments?|responses?|replies|thoughts?)"
        r"(?: (?:on|to)\b.{0,200}| so far)?\s*[:.»]?$|comments?\s*[:(]?\s*\d*\)?$)",
        300,
    ),
    _rule(
        "comment.policy",
        "comment_widget",
        r"\blog out\s*/\s*change\b|\bcomments? powered by disqus\b|\bcomment(?:ing)? polic(?:y|ies)\b|"
        r"\badd your two cents\b|\bcomments? (?:are|is) moderated\b|\bnotify me of (?:new|follow-up)\b|"
        r"\bto join the (?:discussion|conversation)\b",
        400,
        words=("log", "disqus", "policy", "policies", "cents", "moderated", "notify", "join"),
    ),
    # --- Share, follow and subscribe prompts ---
    _rule(
        "share.prompt",
        "share_prompt",
        r"^(?:share(?: this| it| on| via| the (?:article|story|post))?(?:\s*(?:article|story|post|page))?"
        r"\s*[:!]?$|share (?:on|via|to) \w+|click to (?:share|email|print|tweet)\b|"
        r"like this:?$|like loading\b|be the first to like this\b|tweet(?: this)?$|"
        r"(?:please )?share this (?:article|story|post|video)\b|copy link$|link copied\W*$|"
        r"email this\b|print this\b|print$|e-?mail$)",
        150,
    ),
    _rule(
        "share.subscribe",
        "share_prompt",
        r"^(?:subscribe\b|sign up (?:for|to)\b|"
        r"join (?:our|my) (?:mailing list|newsletter|telegram|channel)\b|"
        r"follow (?:us|me)\b|get (?:our|the) (?:daily |weekly |free )?newsletter\b)",
        150,
    ),
    _rule(
        "share.follow_network",
        "share_prompt",
        r"\bfollow (?:us|me) on (?:twitter|facebook|instagram|telegram|gab|youtube|x)\b|"
        r"\b(?:delivered|straight) to your inbox\b|\bsubscribe to (?:our|my) (?:newsletter|channel)\b",
        250,
        words=("follow", "inbox", "subscribe"),
    ),
    # Newsletter, app and account prompts of news sites ("Sign up for our morning newsletter").
    _rule(
        "share.newsletter",
        "share_prompt",
        r"^(?:sign\s+up|subscribe|register|join|download|click\s+here|tap\s+here|want\s+to|"
        r"already\s+a\s+subscriber|don['’]t\s+miss|never\s+miss|enjoy(?:ed)?\s+this|like\s+this\s+(?:article|story)|"
        r"get\s+(?:our|the\s+latest|breaking|unlimited|full|free|access))\b"
        r".*\b(?:newsletters?|subscri\w+|premium|(?:our|the)\s+app|commenting|comment\s+forum|"
        r"conversations?|bookmark\w*|inbox|log\s*in|sign\s+in|(?:news|breaking|email)\s+alerts?|"
        r"podcasts?|whatsapp|telegram)\b",
        250,
    ),
    # --- Related-article headers, inline "Read more:" links, listing teasers, post navigation ---
    _rule(
        "related.heading",
        "related_links",
        r"^(?:related(?: posts?| articles?| stories| news| content| reading| coverage| links?| topics?"
        r"| videos?)?|"
        r"recent (?:posts?|articles?|stories)|popular(?: posts?| articles?| stories| now)?|"
        r"you (?:may|might) (?:also )?(?:like|enjoy|be interested in)|"
        r"more (?:stories|news|articles|posts|like this|on this (?:story|topic)|from [^.!?]{1,50})|"
        r"read (?:more|also|next)|see also|also read|"
        r"trending(?: now| stories| articles)?|most (?:read|popular|viewed|shared)|top stories|"
        r"latest (?:news|posts|articles|stories)|further reading|editor['’]?s picks?|"
        r"recommended(?: for you)?|"
        r"(?:«|‹|←)?\s*(?:previous|next|older|newer) (?:post|article|story|entries)\s*(?:»|›|→)?)"
        r"\s*[:»›.\-–—]*$",
        80,
    ),
    _rule(
        "related.inline_link",
        "related_links",
        r"^(?:read (?:more|also|next)|see also|also read|related(?: articles?| stories| videos?| content)?|"
        r"headline|trending|recommended|must read|don'?t miss|watch|more|listen)\s*(?:[:|»›>]|\.\.\.|…)\s*\S",
        250,
    ),
    _rule("related.teaser", "related_links", TEASER.pattern, 3000, words=("more", "reading")),
    _rule("related.read_more", "related_links", r"^read more\W{0,5}$", 40),
    # --- Column disclaimers, copyright lines ---
    _rule(
        "disclaimer.views",
        "disclaimer",
        r"^disclaimer\b|\bdoes not (?:give|provide|offer) (?:any )?(?:financial|investment|medical|legal)"
        r"\b|\bviews,? (?:and )?opinions expressed\b|\bstatements, views and opinions\b|"
        r"\bsolely (?:those|the views?) of the (?:authors?|writers?|contributors?)\b",
        600,
        words=("disclaimer", "financial", "investment", "medical", "legal", "opinions", "solely"),
    ),
    _rule(
        "disclaimer.copyright",
        "disclaimer",
        r"^(?:©|\(c\)\s|copyright\s*(?:©|\(c\))?\s*(?:\d{4}|by\b))|\ball rights reserved\b",
        250,
        words=("c", "copyright", "reserved"),
        chars="©",
    ),
    _rule("disclaimer.standards", "disclaimer", r"^(?:our|editorial)\s+standards\s*:", 250),
    # --- Photo and video credits ("Photo: Reuters", "Image credit: ...") ---
    _rule(
        "credit.photo",
        "credit",
        r"^(?:(?:photo(?:graph)?|image|picture|video|main\s+image|top\s+image)\s*)?credits?\s*:|^photograph\s*:",
        250,
    ),
    # --- Author and publisher promos, shop and ebook offers ---
    _rule(
        "promo.visit",
        "promo",
        r"^visit (?:my|our)\b|\bvisit (?:my|our) (?:new )?(?:web ?site|blog|store|shop)\b|"
        r"\bvisit \S{2,60}\.(?:com|net|org|info|co\.uk)\b",
        300,
        words=("visit",),
    ),
    _rule(
        "promo.book",
        "promo",
        r"^(?:my|our|his|her) (?:newest|new|latest) book\b|\b(?:order|buy|get) (?:your|my) (?:copy|book)\b|"
        r"\bavailable (?:now )?(?:on|at) amazon\b",
        300,
        words=("book", "copy", "amazon"),
    ),
    _rule("promo.radio", "promo", r"^listen to\b.{0,200}\bradio\b", 300),
    _rule(
        "promo.shop",
        "promo",
        r"\bclick here\b|\b\d{1,2}% off\b|\bfree (?:shipping|gift)\b|"
        r"\bdownload (?:a |the |your |my |our )?(?:free|\d+-page)\b",
        300,
        words=("click", "shipping", "gift", "download"),
        chars="%",
    ),
    _rule("promo.more_at", "promo", r"^(?:see|read|watch|find|get) more\b.{0,80}\b(?:at|on)\b", 300),
    _rule(
        "promo.sponsored",
        "promo",
        r"\bsponsored content\b|\bpaid (?:content|partner)\b|\b(?:subscribe|subscription) today\b|"
        r"\bstart your (?:free )?(?:\w+ )?(?:subscription|trial)\b",
        300,
        words=("sponsored", "paid", "today", "trial", "subscription"),
    ),
    # --- Page chrome: image viewers, ad slots, "continue reading", post metadata, cookie bars ---
    _rule(
        "chrome.ad",
        "chrome",
        r"^(?:advertisements?|advertising|ad|"
        r"advertisement\s*[-–—:]?\s*(?:continue reading below|scroll to continue)?|"
        r"sponsored(?: links?| content)?|promoted(?: content)?|ads? by \w+|report this ad|"
        r"skip advert(?:isement)?|"
        r"scroll to continue.*|story continues (?:below|after)(?: (?:this )?(?:advertisement|ad))?|"
        r"continue reading(?: below| the main story)?\s*(?:→|»|›|\.\.\.|…)?)[.:!…\s]*$",
        300,
    ),
    _rule(
        "chrome.viewer",
        "chrome",
        r"^(?:click (?:to|on the image to|image to|here to) (?:see|view|enlarge|open)\b.{0,40}|"
        r"(?:view|see) (?:the )?full[- ]size image|click to enlarge|"
        r"watch(?: (?:below|now|more|here|on youtube|the video))?|"
        r"listen(?: to (?:this|the) (?:article|story))?)"
        r"[.:!…\s]*$",
        300,
    ),
    _rule("chrome.swipe", "chrome", r"^.{0,60}\bswipe\b.{0,20}$", 90, words=("swipe",)),
    _rule(
        "chrome.taxonomy",
        "chrome",
        r"^(?:filed under|posted in|categories|category|tags?|tagged(?: with| as)?)\s*:.{0,280}$",
        300,
    ),
    _rule(
        "chrome.navigation",
        "chrome",
        r"^(?:skip to (?:main )?content|back to top|scroll to top|menu|search|log ?in|sign ?in|home)\W*$",
        40,
    ),
    _rule(
        "chrome.correction",
        "chrome",
        r"^(?:see an? (?:error|typo|mistake)\b.{0,80}|send us a correction)$",
        300,
    ),
    _rule(
        "chrome.cookies",
        "chrome",
        r"^(?:(?:this (?:site|website)|we) uses? cookies\b.{0,200}|privacy & cookies:.{0,250})$",
        300,
    ),
    # --- Blog footers (WordPress.com, Blogger) ---
    _rule(
        "footer.blog",
        "footer",
        r"^(?:blog at\b.{0,40}|up\s*↑|%d bloggers like this:?|powered by (?:wordpress|blogger)\b.{0,40}|"
        r"(?:theme|designed|design) by\b.{0,60}|create a (?:free )?website or blog at\b.{0,40}|"
        r"loading\.{0,3}|follow\s*$|website powered by\b.{0,40})$",
        120,
    ),
    # Post metadata lines ("Posted on by willyloman") are bylines without the article's author.
    _rule("byline.posted", "byline", r"^posted (?:on|by|at)\b", 120),
    # A closing author bio: "Jane Doe is a reporter for ...", "X's Jane Doe is the author of ...".
    _rule(
        "bio.author_is",
        "author_bio",
        r"^(?:\S+['’]s\s+)?(?:[A-Z][\w.'’-]*\s+){1,4}(?:is|was|has\s+been)\s+(?:a|an|the)\s+"
        r"(?:[\w-]+\s+){0,4}(?:writer|reporter|editor|correspondent|journalist|columnist|contributor|author|"
        r"producer|intern|fellow|critic|anchor|novelist|commentator)s?\b",
        600,
        0,
        words=(
            "writer",
            "reporter",
            "editor",
            "correspondent",
            "journalist",
            "columnist",
            "contributor",
            "author",
            "producer",
            "intern",
            "fellow",
            "critic",
            "anchor",
            "novelist",
            "commentator",
            "writers",
            "reporters",
            "editors",
            "correspondents",
            "journalists",
            "columnists",
            "contributors",
            "authors",
            "producers",
        ),
    ),
)

# Lines made of these words only are a share bar ("Facebook Twitter Email"): see ``word_rule``.
SOCIAL_WORDS = frozenset(
    {
        *("facebook", "twitter", "x", "linkedin", "reddit", "pinterest", "whatsapp", "telegram", "email"),
        *("print", "tumblr", "pocket", "vk", "mix", "flipboard", "gab", "parler", "truth", "social"),
        *("share", "tweet", "pin", "it", "messenger", "copy", "link", "sms", "more", "e-mail", "mail"),
    }
)
# Leftovers of category, byline or date templates whose values were not extracted ("in ,", "By").
RESIDUE_WORDS = frozenset(
    {"in", "by", "on", "at", "and", "of", "or", "posted", "filed", "under", "tags", "tagged", "categories"}
    | {"category"}
)

# Rules that the word-level checks of ``match_rule`` apply (they have no single pattern).
WORD_RULES = (
    Rule("chrome.no_words", "chrome", re.compile(r"^[\W_]+$"), 10**9),
    Rule("chrome.template_residue", "chrome", re.compile(""), 30),
    Rule("byline.empty", "byline", re.compile(r"^by\W*$", _I), 30),
    Rule("share.network_names", "share_prompt", re.compile(""), 150),
    Rule("related.doubled_headline", "related_links", re.compile(""), 400),
)
_WORD_RULE = {rule.id: rule for rule in WORD_RULES}

# Soft widget strings: ambiguous alone ("Reply" may be a heading), boilerplate next to boilerplate.
# They are a feature of the line model, which sees the neighbours.
SOFT_WIDGET = re.compile(
    r"^(?:what do you think\??|reply|report|like|share|flag|(?:up|down)vote|\d+ (?:likes?|votes?|points?)|"
    r"\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|guest|anonymous|more|"
    r"(?:your )?(?:name|email|website)\s*(?:\(required\)|\*)?|"
    r"let us know (?:what you think )?in the comments\b.*)$",
    _I,
)
# Comment-form strings after which the article never resumes (a feature: "after a comment form").
THREAD_START = re.compile(
    r"^(?:notify (?:me )?of\b|newest\s+most voted$|inline feedbacks?$|view all comments$|"
    r"leave a (?:reply|comment|response)\b|(?:\d+|no|one|two|three) (?:comments?|responses?|thoughts?)"
    r"(?: (?:on|to)\b.{0,200})?\s*[:.»]?$|comments? (?:are )?closed\b|join the discussion\b|"
    r"post (?:a )?comment\b|add (?:a )?comment\b|you are commenting using\b|fill in your details below\b|"
    r"comments?\s*:?$|please enable javascript to view the comments\b|view comments$)",
    _I,
)

# Structural rules, applied by the cleaner over the whole document (ids for ``newsflow clean``).
STRUCTURAL_RULES = {
    "title.given": "title",
    "title.detected": "title",
    "title.repeat": "repeated_title",
    "byline.header": "byline",
    "bio.about_box": "author_bio",
    "site.memory": "site_boilerplate",
    "comment.after_form": "comment_thread",
}

# Rules that remove a line by themselves, without the model. Chosen on out-of-fold scores of
# the training documents (training/train_line_model.py --rule-report): a rule acts alone when at
# least 97 % of the labelled lines it fires on (B or X, 20 at least) are boilerplate, and it
# removes more boilerplate that the model would keep than body that the model would have kept.
# The other rules are evidence for the model (their reason and id still name the lines the
# model removes).
HARD_RULES = frozenset(
    {
        "chrome.ad",
        "chrome.no_words",
        "comment.form",
        "comment.policy",
        "disclaimer.copyright",
        "related.heading",
        "share.network_names",
        "share.newsletter",
        "share.prompt",
        "share.subscribe",
    }
)

RULE_IDS = tuple(rule.id for rule in RULES) + tuple(rule.id for rule in WORD_RULES)
# The rule reasons, in a fixed order: one model feature each.
RULE_REASONS = tuple(sorted({rule.reason for rule in RULES + WORD_RULES}))

_HAS_ALNUM = re.compile(r"[^\W_]")
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# ASCII lines are split into lower-case words by one byte translation (apostrophes and hyphens
# stay inside words, like _WORD_RE), others by the regex.
_ASCII_WORDS = bytes(c if chr(c).isalnum() or chr(c) in "'-" else 32 for c in range(128)) + bytes(
    range(128, 256)
)


def _words(line: str) -> list[str]:
    if line.isascii():
        return [w.strip("'-") for w in line.lower().encode().translate(_ASCII_WORDS).decode().split()]
    return [w.casefold() for w in _WORD_RE.findall(line)]


# The longest line a rule with triggers tries in full; longer lines are prose. A rule allowed
# on longer lines (the teaser rule: "... Read More" ends a listing's excerpt of any length)
# looks for its triggers in the line's last characters.
_TRIGGER_LINE_MAX = 600
TAIL_CHARS = 40


@functools.cache
def _screens() -> tuple[tuple[int, re.Pattern[str]], ...]:
    """One combined pattern per length cap of the anchored rules: a line is tried against the
    anchored rules allowed at its length with a single ``match``; only a hit is resolved rule by
    rule, in table order."""
    anchored = [rule for rule in RULES if rule.anchored]
    screens = []
    for cap in sorted({rule.max_chars for rule in anchored}):
        allowed = [rule for rule in anchored if rule.max_chars >= cap]
        # Matched against the lower-cased line: the anchored patterns are written in lower case.
        screens.append((cap, re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in allowed))))
    return tuple(screens)


_INDEX = {rule.id: i for i, rule in enumerate(RULES)}
_ANCHORED = tuple(rule for rule in RULES if rule.anchored)
# Trigger word (as bytes: lines are split as bytes) or character -> the rules it may fire, as
# indices into RULES.
_BY_WORD: dict[bytes, tuple[int, ...]] = {}
_BY_CHAR: dict[str, tuple[int, ...]] = {}
for _i, _rule_of in enumerate(RULES):
    for _word in _rule_of.words:
        _BY_WORD[_word.encode()] = (*_BY_WORD.get(_word.encode(), ()), _i)
    for _char in _rule_of.chars:
        _BY_CHAR[_char] = (*_BY_CHAR.get(_char, ()), _i)
_TRIGGER_WORDS = frozenset(_BY_WORD)
# Words of a line, lower-cased, as ASCII bytes: anything not an ASCII letter or digit splits
# (a word with other letters cannot be a trigger, which are all ASCII).
_SPLIT = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + b" " * 128


def _trigger_words(lower: str) -> set[bytes]:
    return _TRIGGER_WORDS.intersection(lower.encode("ascii", "replace").translate(_SPLIT).split())


def _pattern_rule(line: str) -> Rule | None:
    """The first rule of ``RULES`` (table order) that fires on the line."""
    size = len(line)
    lower = line.lower()
    found = len(RULES)
    for cap, screen in _screens():
        if size <= cap:
            if screen.match(lower) is not None:
                found = next((_INDEX[rule.id] for rule in _ANCHORED if rule.matches(line)), found)
            break
    tail = size > _TRIGGER_LINE_MAX
    present = _trigger_words(lower[-TAIL_CHARS:] if tail else lower)
    candidates = {i for word in present for i in _BY_WORD[word]}
    if not tail:
        candidates.update(i for char, rules in _BY_CHAR.items() if char in line for i in rules)
    for i in sorted(candidates):
        if i > found:
            break
        rule = RULES[i]
        if rule.matches(line):
            return rule
    return RULES[found] if found < len(RULES) else None


def match_rule(line: str) -> Rule | None:
    """The first rule of the table that a stripped line matches, or None."""
    if not _HAS_ALNUM.search(line):
        # Separators, arrows, lone punctuation ("——-", "."): nothing of the article.
        return _WORD_RULE["chrome.no_words"]
    size = len(line)
    if size <= 150 and line.count(" ") < 12:
        words = _words(line)
        if words and size <= 30 and all(w in RESIDUE_WORDS for w in words):
            return _WORD_RULE["byline.empty" if words == ["by"] else "chrome.template_residue"]
        if words and all(w in SOCIAL_WORDS for w in words) and words != ["more"]:
            return _WORD_RULE["share.network_names"]
    # Teaser cards render their headline twice ("Title Title") when flattened to text.
    half, rest = divmod(size, 2)
    if rest and 15 <= half <= 200 and line[half] == " " and line[:half] == line[half + 1 :]:
        return _WORD_RULE["related.doubled_headline"]
    return _pattern_rule(line)


def rule_by_id(rule_id: str) -> Rule | None:
    return next((rule for rule in RULES + WORD_RULES if rule.id == rule_id), None)
