"""The registry of diagnostic codes: every code policydsl gives, what it means, what to do.

Takes nothing; gives `CODES` (code -> `Code`: stage, title, explanation, hint), `SECTIONS`
(one per code letter, in page order), `stage_of(code)`, `lookup(code)` and `page()`, the
text of docs/diagnostics.md. A code is a letter and three digits: P1xx parse, C2xx check,
W2xx warnings found while checking (the policy still loads), F3xx claim facts,
R4xx evaluation, L5xx loading, U6xx usage (errors of the command, not of a policy or claim).

`python -m policydsl.diagnostics.codes` writes docs/diagnostics.md from this registry;
`--check` exits 1 if the file is not what the registry gives (edit here, not there).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import attrs


class Stage(enum.Enum):
    PARSE = "parse"
    CHECK = "check"
    FACTS = "facts"
    EVALUATION = "evaluation"
    LOADING = "loading"
    USAGE = "usage"


@attrs.frozen
class Section:
    """The codes of one letter: a heading and a paragraph for the page."""

    letter: str
    stage: Stage
    heading: str
    intro: str


SECTIONS: tuple[Section, ...] = (
    Section(
        "P", Stage.PARSE, "parsing",
        "The text does not follow the policy language's grammar, or holds characters that policy text may not hold. "
        "Every syntax error of a file is reported at once: after one, the parser skips to the next definition (a "
        "definition keyword at the start of a line) and goes on, so each error is reported once and nothing it causes "
        "later in the same definition is. The definitions that parse are checked too, without the findings that only "
        "follow from a skipped one (an undefined name it would define, an unused warning). A file whose characters are "
        "refused (P118–P123) is not parsed at all.",
    ),
    Section(
        "C", Stage.CHECK, "checking",
        "The policy parses but does not hold together: a name, a type or unit, a constant, a dated value or "
        "an inherited definition is wrong. The policy does not load until every error is fixed.",
    ),
    Section(
        "W", Stage.CHECK, "warnings (the policy still loads)",
        "Found while checking: the policy loads and runs, but part of it is probably not what was meant.",
    ),
    Section(
        "F", Stage.FACTS, "claim facts",
        "A claim's facts do not match the policy's `input`, so the claim is not decided. Each problem is reported "
        'with the field path, e.g. `items[2].amount: expected money, got "abc"`.',
    ),
    Section(
        "R", Stage.EVALUATION, "evaluation",
        "The facts were valid but the decision could not be computed. The claim gets an error in place of a decision "
        "(the message names the rule, where it is known); other claims go on.",
    ),
    Section(
        "L", Stage.LOADING, "loading",
        "A policy file cannot be read, or is too large or too deeply nested to be read safely. "
        "The limits keep every later stage fast and bounded.",
    ),
    Section("U", Stage.USAGE, "usage", "The command was given arguments or files it cannot use."),
)
_SECTION = {section.letter: section for section in SECTIONS}


def stage_of(code: str) -> Stage | None:
    """The stage a code's letter names (None for a code of no known letter)."""
    section = _SECTION.get(code[:1])
    return section.stage if section else None


@attrs.frozen
class Code:
    """One diagnostic code. `reserved`: registered, but not given by policydsl itself."""

    code: str
    title: str
    explanation: str
    hint: str | None = None
    reserved: bool = False

    @property
    def stage(self) -> Stage | None:
        return stage_of(self.code)


_ALL: tuple[Code, ...] = (
    # ---- P: parsing ----------------------------------------------------------------------
    Code(
        "P100", "unexpected token",
        "The text does not follow the grammar here. The message names what was found; the hint says what was expected, "
        "or the likely mistake, wherever in the file it is: a missing `then` or `otherwise`, `==` for `=`, `if`/`else` "
        "for `when ... then ... otherwise`, a definition without its keyword (`basic: money = ...` for "
        "`rule basic: money = ...`), a thousands separator (`400,000 yuan` for `400_000 yuan`, also inside a call, "
        "where `min(400,000 yuan, cap)` would be three arguments), a Chinese multiplier (`40万` for `400_000 yuan`) or "
        "Chinese numerals (`三千 yuan` for `3_000 yuan`), a keyword run into a word (`rulex` for `rule x`), a closing "
        "bracket of the wrong kind.",
        "the mistake is often just before the caret: an unclosed bracket, or a keyword missing at the end of the previous line",
    ),
    Code(
        "P101", "unexpected character",
        "A character that cannot start any token: it is not part of a name, a number, an operator or a bracket, "
        "and it is outside strings and comments. The hint names the word meant for another language's operator "
        "(`&&` is `and`, `!` is `not`, `'...'` is `\"...\"`).",
        'delete it, or write it inside a string `"..."` or a comment after `#`',
    ),
    Code(
        "P102", "unterminated string",
        "A string that is not closed on its line: a string cannot run over a line break.",
        'close the string with `"` on the same line',
    ),
    Code(
        "P103", "unexpected end of file",
        "The file ends in the middle of a definition: a bracket, a `when` chain or a definition is not finished.",
        "finish the last definition; the hint under the caret says what was expected",
    ),
    Code(
        "P104", "expressions nested too deeply",
        "Expressions nested too deeply for the parser. This is a last resort: the L502 limits are checked first, "
        "so a policy rarely gets this far.",
        "split deep expressions into named rules",
    ),
    Code(
        "P105", "unclosed bracket",
        "A `(`, `[` or `{` that the definition never closes. It is reported at the bracket that opened; a note says "
        "where the parser noticed (the end of the definition, or a later line it could not go on with).",
        "close the bracket the caret points at",
    ),
    Code(
        "P110", "months that are not whole",
        "A number of months that is not whole (`1.5 months`): months are counted in whole numbers.",
        "write a whole number of months",
    ),
    Code(
        "P111", "not a calendar date",
        "A date literal that is not a calendar date (`2025-02-30`, `2025-13-01`).",
        "dates are written YYYY-MM-DD",
    ),
    Code(
        "P112", "fractional enum member or table key",
        "An enum member or table key that is a fraction (`1.5`): members and keys are names or whole numbers.",
        "write a name or a whole number",
    ),
    Code(
        "P113", "unknown language of a reason",
        'A reason in an unknown language (`because xx "..."`). The languages are `en` and `zh`; '
        '`because "..."` without a language is English.',
        'write `because "..."` or `because zh "..."`',
    ),
    Code(
        "P114", "period ends before it starts",
        "A period that ends before it starts (`from 2025-07-01 until 2025-06-30`).",
        "correct the date that is wrong, or swap the two",
    ),
    Code(
        "P115", "misplaced modifier",
        "A modifier written twice (`override override`), or `override`/`final` on something that cannot take it: "
        "the modifiers apply to enum, param, table, tiers and rule definitions.",
        "write each modifier once, and only before an enum, param, table, tiers or rule",
    ),
    Code(
        "P116", "header clause stated twice",
        "A header clause (`version`, `region`, `effective`, `as of`, `implements`, `extends`) stated twice.",
        "keep one of them",
    ),
    Code(
        "P117", "number too long",
        "A number literal with more digits than any policy needs (40).",
        "check the number for a slip of the keyboard or a pasted value",
    ),
    Code(
        "P118", "digit that is not ASCII",
        "A digit that is not ASCII 0-9 outside strings and comments (`৪0%`, full-width `４`): "
        "digits of other scripts look like other numbers.",
        "write the ASCII digit the hint names",
    ),
    Code(
        "P119", "bidirectional control character",
        "A bidirectional control character (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) anywhere in the text, "
        "comments and strings included, or written as a `\\u` escape in a string: it makes the text display otherwise "
        "than it runs.",
        "delete it",
    ),
    Code(
        "P120", "lone surrogate",
        "A lone surrogate (U+D800–U+DFFF) in the text or from a `\\u` escape in a string (a pair such as "
        "`\\ud83d\\ude00` is one character and fine): such text cannot be written out.",
        "a `\\u` escape of a character above U+FFFF is a pair: `\\ud83d\\ude00`",
    ),
    Code(
        "P121", "number out of bounds",
        "A number literal out of the bounds numbers keep to: 40 significant digits, 40 after the point, below 10^20; "
        "money below 10^15 yuan; whole numbers and months within ±10^18.",
    ),
    Code(
        "P122", "name that mixes scripts",
        "A name that mixes scripts (Unicode TR 39 \"highly restrictive\"): one script per name, or Latin with Han and kana, "
        "Han and Bopomofo, or Han and Hangul (`基本_cap` is fine; `rаtio` with a Cyrillic `а` is not).",
        "keep a name to one script: letters of different scripts that look alike would make two names look the same",
    ),
    Code(
        "P123", "name not in normal form",
        "A name not in Unicode normal form NFKC (full-width `ｃａｐ`, ligatures): it would look like, but differ from, "
        "its normal form.",
        "write the name in its normal form, which the message shows",
    ),
    Code(
        "P124", "full-width punctuation",
        "Full-width punctuation outside strings and comments (`，（）：“”％`, the ideographic space U+3000, ...), as "
        "Chinese input methods type it. Each is reported with its ASCII replacement, and the rest of the file is read "
        "as if it were replaced, so its other errors are found too (a full-width comma between digits, `400，000`, is "
        "a thousands separator: `400_000`).",
        "use the ASCII character the hint names",
    ),
    # ---- C: checking ---------------------------------------------------------------------
    Code(
        "C200", "undefined name",
        "A name that no definition, input field, enum member or local name has, or an enum member the enum does not list. "
        "The hint suggests the nearest defined name.",
        "check the spelling, or define the name",
    ),
    Code(
        "C201", "defined twice",
        "A name, enum member, record field, table key, output or input defined twice.",
        "rename one of them, or delete the duplicate",
    ),
    Code(
        "C202", "definition depends on itself",
        "A definition depends on itself, directly or through others; the message shows the cycle.",
        "a value cannot be computed from itself; break the cycle",
    ),
    Code(
        "C203", "type or unit mismatch",
        "Types or units that do not fit: `money + ratio`, `money < months`, `max(0, money)`, a rule whose value differs "
        "from its declared type, a branch of a different unit, `round` without a mode, an unknown function.",
        "the hint under the caret says how the units combine, e.g. dates move by months: `date + 3 months`",
    ),
    Code(
        "C204", "name used as the wrong kind of thing",
        "A name used as the wrong kind of thing: a type as a value, a rule as a tier schedule.",
        "to name a member of an enum, write `Enum.member`",
    ),
    Code(
        "C205", "output not defined, or no outputs",
        "An output that is not defined, or not a single value (an enum, a record, a list), or no outputs at all. "
        "Outputs are rules, parameters or input fields.",
        "list what a decision returns in `output name, ...`",
    ),
    Code(
        "C206", "unknown type",
        "A type that is neither built in (money, ratio, percent, int, number, bool, date, months, text) nor an enum or "
        "record of the policy.",
        "the hint lists the types there are",
    ),
    Code(
        "C207", "constant depends on the claim",
        "A parameter, table, tier schedule or default that depends on the claim: these must be constants.",
        "compute what depends on the claim in a rule",
    ),
    Code(
        "C208", "table key outside its domain",
        "A table key that is not in the key's domain (not a member of the key's enum, not a whole number for an int key), "
        "or a key listed twice.",
        "the hint lists the members of the key's enum",
    ),
    Code(
        "C209", "no input",
        "The policy declares no input: a decision has no facts to start from.",
        "add `input { field: type ... }` listing the claim facts",
    ),
    Code(
        "C210", "gap in dated values",
        "Dated values leave a gap: some day in the policy's period has no value for a name or table row.",
        "give a value for the days without one, or shorten the policy's `effective` period",
    ),
    Code(
        "C211", "dated values overlap",
        "Dated values overlap, or a name has a value without dates beside dated ones.",
        "give every value of a dated name a `from`/`until` period, one after another",
    ),
    Code(
        "C215", "override beyond a floor or ceiling",
        "An override goes below the parent's `floor` or above its `ceiling`.",
        "keep the override within the bounds the parent policy sets",
    ),
    Code(
        "C216", "dated values without `as of`",
        "The policy has dated values but its header has no `as of FIELD` to pick them by.",
        "add `as of FIELD` to the header, naming the input field that dates a claim",
    ),
    Code(
        "C217", "`as of` is not a date field",
        "`as of FIELD` names no input field, or a field that is not a date.",
        "name an input field of type date",
    ),
    Code(
        "C218", "default uses a dated value",
        "A field default uses a dated value: defaults must be the same on every day.",
        "a default must be the same on every day; compute the dated part in a rule",
    ),
    Code(
        "C220", "ratio outside 0%–100%",
        "A ratio constant (parameter, table value, tier rate) outside 0%–100%.",
        "a ratio is a share: write it between 0% and 100%",
    ),
    Code(
        "C221", "negative money or months",
        "A negative amount of money or months in a parameter or table.",
        "amounts and periods are 0 or more; subtract them in a rule instead",
    ),
    Code(
        "C222", "tier bands not contiguous",
        "Tier bands that are not contiguous and increasing: a gap, an overlap, an empty band, an open band that is not last.",
        "each band must start where the previous one ends; only the last may be open (`above`)",
    ),
    Code(
        "C223", "table misses enum members",
        "A table keyed by an enum that misses members and has no `default:` row. For an inherited table whose enum the "
        "child changed, the error points at the child's `override enum`.",
        "add the missing rows, or a `default:` row",
    ),
    Code(
        "C224", "constant cannot be held exactly",
        "A constant expression whose value cannot be held exactly (more than 200 significant digits) or is out of bounds "
        "(money at or above 10^15 yuan, a number at or above 10^20, a whole number beyond ±10^18), at the expression.",
        "policy values are exact; keep amounts below 10^15 yuan and numbers below 10^20",
    ),
    Code(
        "C225", "constant could not be computed",
        "A constant that the checker could not compute for a reason no other code names. This is a last resort: "
        "please report it.",
    ),
    Code(
        "C240", "`extends` without a policies folder",
        "`extends` where no policies folder is known: policy text loaded without a root.",
        "load the policy from a file inside a policies folder",
    ),
    Code(
        "C241", "`extends` goes round in a circle",
        "`extends` goes round in a circle (the message shows the chain), or the chain is deeper than 16.",
        "a policy cannot extend itself, directly or through others",
    ),
    Code(
        "C242", "input field declared again",
        "A child redeclares an input field its parent declares.",
        "declare only the new fields: the parent's fields are inherited",
    ),
    Code(
        "C243", "defined again without `override`",
        "A child defines a name its parent already defines, without `override`.",
        "write `override KIND NAME ...` to change it, or choose another name",
    ),
    Code(
        "C244", "`override` with nothing to override",
        "`override` of a name the parent does not define (with a \"did you mean\"), of a different kind, "
        "or in a policy that extends nothing.",
        "check the name and kind, or drop `override` to add a new definition",
    ),
    Code(
        "C245", "`override` of a `final` definition",
        "`override` of a definition the parent marked `final`.",
        "a `final` value may not be changed by a policy that extends it",
    ),
    Code(
        "C246", "`extends` out of the policies folder",
        "An `extends` name that could leave the policies folder (`..`, an absolute path, a link out of the folder).",
        'name a policy inside the policies folder, e.g. `extends "national/baseline-2025"`',
    ),
    Code(
        "C247", "no such parent policy",
        "An `extends` name with no policy file in the policies folder.",
        "the name is the file's path inside the policies folder, without `.policy`",
    ),
    Code(
        "C260", "accumulator that does not add up",
        "An accumulator's type is not one that adds up: it must be money, int, number or months.",
        "declare it `money` (amounts), `int` (counts) or `months`",
    ),
    Code(
        "C261", "bad person field",
        "An accumulator's `per` names no field of the input, or a field that is neither text nor int. "
        "The person field groups a person's claims when they are carried (`batch --carry`).",
        "declare the field in the input, e.g. `person_id: text = \"\"` (a default lets single claims omit it)",
    ),
    Code(
        "C262", "bad opening value",
        "An accumulator's opening value is not a number written out, or not of the accumulator's type. "
        "It is the value at the start of each year; a balance that differs by person comes with the claims.",
        "write it as a literal of the accumulator's type, e.g. `opening 0 yuan`",
    ),
    Code(
        "C263", "`adds` of the wrong type",
        "What each claim adds to an accumulator has another type than the accumulator.",
        "add a value of the accumulator's type, usually a rule: `adds basic`",
    ),
    Code(
        "C264", "accumulators per different people",
        "No longer given: accumulators of one policy may each be carried per their own key field (a person, "
        "a shared account's owner) since claims are carried by connected components of their keys. "
        "Kept so that the number is not given to another finding.",
        reserved=True,
    ),
    Code(
        "C265", "accumulators without a claim date",
        "A policy with accumulators does not say which input field dates a claim: the year an accumulator "
        "runs over, and the order in which a person's claims are carried, come from that date.",
        "add `as of FIELD` to the header, e.g. `as of service_date`",
    ),
    Code(
        "C266", "output named like the record's own keys",
        "An output is named `policy` or `accumulators`, which every decision record uses for the policy that "
        "decided it and the accumulators before and after the claim.",
        "rename the rule",
    ),
    Code(
        "C267", "bad field limit",
        "A field's limits (`age: int in 0..150`, `admission_number: int >= 1`) must be numbers written out, of the "
        "field's type, on a type with an order (int, months, money, ratio, number, date); they must admit a value, "
        "and a default must be inside them.",
        "write the bounds as literals of the field's type, e.g. `cost: money <= 1_000_000 yuan`",
    ),
    Code(
        "C268", "required value not set",
        "A policy with a `region` (one that decides claims) leaves unset what the frame it extends requires: a "
        "`param NAME: TYPE required`, a `tiers NAME required`, or a row of a `table ... required` for some key.",
        "set it: `override param NAME = VALUE`, `override tiers NAME { ... }`, or `override table NAME { KEY: VALUE }`",
    ),
    Code(
        "C269", "`let` name already taken",
        "A `let` names a value with a name the policy already gives to something else (a rule, parameter, table, "
        "input field, enum member, or an earlier `let` of the same rule): inside the rule, one of them would be hidden.",
        "choose another name for the `let`",
    ),
    Code(
        "C270", "a function reads what is not its own",
        "A function's body reads a rule or an input field. A function reads only its parameters and the policy's "
        "constants (parameters, tables, tier schedules, other functions), so that a call depends on its arguments alone.",
        "give the value to the function as a parameter",
    ),
    Code(
        "C271", "bad money flow",
        "A name of `flows` that is not an output of the policy, is not money, or is listed twice; or a `drop flows` "
        "in a policy that extends none. Flows are the outputs that are money paid (by a fund, or with `patient` by "
        "the patient): impact reports sum them, and only them.",
        "list in `flows` money outputs: `flows basic, major, patient patient_pays`",
    ),
    Code(
        "C272", "bad requirement",
        "A `require FIELD: CONDITION` whose FIELD is not a field of the claim's input, or whose condition reads a "
        "rule. A requirement is checked on the claim's facts before any rule is computed, and a claim that breaks "
        "it is refused at that field (F304).",
        "name an input field, and write the condition over input fields and constants: "
        "`require account_bound: account_relation = self or account_bound`",
    ),
    Code(
        "C273", "a default no claim could carry",
        "A field's default is a value the facts reader would refuse for that field (negative money, fractions of a fen, a "
        "ratio above 100%, more digits than a read number may have): the field takes it when a claim leaves it out, and "
        "every later stage relies on what the reader assures of a field.",
        "write a default the field could be given, e.g. `0 yuan`",
    ),
    # ---- W: warnings ---------------------------------------------------------------------
    Code(
        "W230", "unused constant",
        "A parameter, table, tier schedule or function nothing uses (not reported while names are undefined).",
        "use it, list it in `output`, or delete it",
    ),
    Code(
        "W231", "branch never taken",
        "A conditional branch that can never be taken: its enum values were all taken by earlier branches, "
        "its condition is `false`, an earlier condition is always true, or an `otherwise` follows branches that "
        "cover every value.",
        "an earlier branch already takes these cases; delete the branch or reorder the conditions",
    ),
    Code(
        "W232", "unused rule",
        "A rule nothing uses and no output lists.",
        "use it, list it in `output`, or delete it",
    ),
    Code(
        "W233", "in force outside the parent's period",
        "A policy is in force outside the period of the policy it extends (a new version extending the previous one): "
        "the parent's rules then apply on days they were not written for.",
        "check that the parent's rules hold on those days too",
    ),
    Code(
        "W234", "accumulator nothing adds to",
        "An accumulator without `adds`: every claim leaves it as it was.",
        "say what each claim adds, e.g. `adds basic`",
    ),
    Code(
        "W235", "accumulator no rule reads",
        "An accumulator that no rule, parameter or invariant reads: it is carried, but decides nothing.",
        "use it in a rule (its name is its value before the claim), or delete it",
    ),
    Code(
        "W236", "in force for a period, no claim date",
        "The header's `effective` limits when the policy is in force, but no `as of FIELD` says which date of a claim "
        "to judge that by: every claim then needs an evaluation date (`--as-of DATE`, `as_of=`), or it fails with R405.",
        "add `as of FIELD` to the header, e.g. `as of service_date`",
    ),
    Code(
        "W237", "a frame with required values unset",
        "The policy declares or inherits `required` values it does not set and has no `region`: it is a frame for "
        "regions, and deciding a claim with it fails (R405) until a policy that extends it sets them.",
        "extend it with a region that sets them",
    ),
    Code(
        "W238", "inherited rule left unused",
        "A rule of the policy this one extends is used by nothing here: this policy's overrides replaced what used it "
        "(or dropped the output it was). It is still computed, decides nothing, and explanations leave it out.",
        "override what should use it, or ignore this",
    ),
    Code(
        "W239", "money output with fractions of a fen",
        "A money output whose value can have more than two decimals by the policy's own arithmetic (`cost * 50%` "
        "without `round`): a claim where it does have fractions of a fen fails with R404.",
        "round it to the fen, e.g. `round(cost * 50%, half_up)`",
    ),
    Code(
        "W240", "`let` name never used",
        "A `let` names a value that the rest of its rule never reads.",
        "use the name, or delete the `let`",
    ),
    Code(
        "W241", "a floor or ceiling moved by another override",
        "A `floor` (or `ceiling`) parameter of the parent is not overridden here, but it is computed from a parameter "
        "that is, and its value here falls below (or rises above) the parent's: the bound holds for overrides of the "
        "parameter itself (C215), and this one moved without one.",
        "keep the parameter within its bound: override it too, or change the other parameter less",
    ),
    # ---- F: claim facts ------------------------------------------------------------------
    Code(
        "F300", "invalid facts",
        "The code of a facts problem whose maker gives none (the default of `FactError`). "
        "policydsl itself always gives F301, F302, F303 or F304.",
        reserved=True,
    ),
    Code(
        "F301", "missing field",
        "A required field is missing (a field with a default may be left out).",
        "give the field, or a default for it in the policy's `input`",
    ),
    Code(
        "F302", "wrong value",
        "A value of the wrong type or outside its domain: not money, more than two decimals, negative money, "
        "an unknown enum member, an impossible date, `null`, NaN, a value outside the field's declared limits.",
        'money is yuan with at most two decimals, e.g. "1200.50"; a date is "YYYY-MM-DD"',
    ),
    Code(
        "F303", "unknown field",
        "A field the schema does not declare: a misspelt field must not fall back to a default.",
        "check the field's name against the policy's `input`",
    ),
    Code(
        "F304", "facts break a requirement",
        "The claim's fields are each valid but together break one of the policy's `require` conditions (an account "
        "that may not pay for this patient, a date before another). The error is at the field the requirement "
        "names, with the requirement's reason.",
        "correct the field, or the fields the requirement's condition reads",
    ),
    # ---- R: evaluation -------------------------------------------------------------------
    Code(
        "R400", "value could not be computed",
        "A value could not be computed (e.g. too large to compute exactly), for a reason no other code names.",
    ),
    Code(
        "R401", "division by zero",
        "A division by zero.",
        "guard the division: `when d = 0 then 0 yuan otherwise x / d`",
    ),
    Code(
        "R402", "date outside the calendar",
        "A date moved outside the calendar (before year 1 or after year 9999).",
    ),
    Code(
        "R403", "no table row",
        "A table has no row for the key, and no `default:` row.",
        "add the row, or a `default:` row",
    ),
    Code(
        "R404", "money output not in whole fen",
        "A money output is not a whole number of fen: the policy must round it explicitly.",
        "round it explicitly, e.g. round(x, half_up)",
    ),
    Code(
        "R405", "nothing in force on the claim's date",
        "No value is in force on the claim's date: before or after the policy's effective period, "
        "or no version of the region's policy in force.",
        "check the claim's date, or give the evaluation date (`--as-of` on the command line, `as_of` in the API)",
    ),
    Code(
        "R406", "invariant does not hold",
        "An `invariant` of the policy does not hold for the claim; the message names it.",
        "the policy or the claim is wrong: the invariant states what every decision must satisfy",
    ),
    Code(
        "R407", "whole number too large",
        "A whole number (int, months) grew beyond 10^18: arithmetic on counts is bounded so it cannot hang.",
    ),
    Code(
        "R408", "value cannot be computed exactly",
        "A value cannot be computed exactly: it needs more than 200 significant digits, or lies outside 1E-999..1E+999 "
        "(values are never rounded except by `round`; a quotient keeps 50 digits).",
        "round intermediate values explicitly with `round`",
    ),
    Code(
        "R409", "claim too large to evaluate",
        "The claim would take more than 25 million element steps in nested aggregates (estimated from its list lengths "
        "before running).",
        "split the claim, or avoid aggregates nested inside one another",
    ),
    # ---- L: loading ----------------------------------------------------------------------
    Code(
        "L500", "cannot read the policy file",
        "The policy file does not exist or cannot be read (or is not UTF-8 text).",
        "check the path and the file's permissions",
    ),
    Code(
        "L501", "policy too large",
        "The policy file is larger than 1,000,000 characters.",
        "split the policy into several files",
    ),
    Code(
        "L502", "nested too deeply",
        "Nested too deeply: brackets or expressions more than 50 levels (each branch of a `when` chain counts one more), "
        "aggregates more than 3 inside one another, records more than 16 inside one another.",
        "split deep expressions into named rules",
    ),
    Code(
        "L503", "too many definitions",
        "More than 2,000 definitions in one file.",
        "split the policy into several files, or put many similar values in a table",
    ),
    Code(
        "L504", "too many tokens",
        "More than 50,000 tokens in one file.",
        "split the policy into several files",
    ),
    Code(
        "L505", "not a regular file",
        "The policy path is not a regular file (a FIFO, a device such as `/dev/zero`, a folder, or a link where none "
        "is followed) or is larger than a policy may be (4,000,000 bytes): it is refused without being read.",
        "name the policy file itself",
    ),
    Code(
        "L506", "link out of the policies folder",
        "`eval --region`: a `*.policy` link in the policies folder leads out of the folder; the file is skipped "
        "with a warning.",
        "copy the policy into the folder instead of linking to it",
    ),
    Code(
        "U600", "a file or argument cannot be used",
        "A file the command was given is missing or unreadable, an output would overwrite its input, or the "
        "arguments do not fit together. The command stops before it reads any claim (exit 2).",
        "see `policydsl COMMAND --help`",
    ),
    Code(
        "U601", "the output could not be written",
        "Writing the output failed part-way (disk full, an I/O error, standard output closed). The message says "
        "what the output holds so far (exit 74).",
        "free space or fix the output, and run again",
    ),
    Code(
        "U602", "no policy for the region and day",
        "`eval --region`: no policy of that region is in force on the day, or no policy names the region, or "
        "there is no policies folder.",
        "check the region code and the date; `--policies DIR` names the folder",
    ),
    Code(
        "U603", "a tests file has the wrong shape",
        "A `*.tests.json` file cannot be read, or is not `{\"tests\": [...]}` with a name, a claim and `expect` "
        "or `expect_error` in each test.",
        "compare with a tests file beside a bundled policy",
    ),
    Code(
        "U604", "a file cannot be formatted",
        "`policydsl fmt`: the file does not parse (fix the errors `policydsl check` shows first), or formatting "
        "would change what it means (a bug in the formatter: please report it).",
        "run `policydsl check FILE`",
    ),
)

CODES: dict[str, Code] = {entry.code: entry for entry in _ALL}
assert len(CODES) == len(_ALL), "a code is registered twice"


def lookup(code: str) -> Code | None:
    return CODES.get(code)


# ---- the page: docs/diagnostics.md ------------------------------------------------------------

PAGE = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"

_EXAMPLE = """\
many_errors.policy:11:7: error[C201]: `cap` is defined twice
 11 | param cap = 200_000 yuan
    |       ^^^
  note: first defined at many_errors.policy:10:7
  hint: rename one of them, or delete the duplicate"""


def page() -> str:
    """The text of docs/diagnostics.md: every section's codes, each with its title, explanation and hint."""
    out = [
        "# Diagnostics",
        "",
        "<!-- Generated from policydsl/diagnostics/codes.py by `python -m policydsl.diagnostics.codes`: "
        "edit the registry there, not this page. -->",
        "",
        "Every message policydsl gives has a stable code: a letter for the stage that found the problem, and three "
        "digits. Policy diagnostics (errors and warnings) are printed as `file:line:col: error[CODE]: message`, "
        "the source line, carets under the problem, notes pointing at related places, and a hint:",
        "",
        "```text",
        _EXAMPLE,
        "```",
        "",
        "| codes | stage |",
        "|---|---|",
    ]
    sections = [s for s in SECTIONS if any(c.code[0] == s.letter for c in _ALL)]
    for section in sections:
        first = next(c.code for c in _ALL if c.code[0] == section.letter)
        out.append(f"| [{first[:2]}xx](#{section.letter.lower()}) | {section.heading} |")
    for section in sections:
        entries = [c for c in _ALL if c.code[0] == section.letter]
        out += ["", f'## <a id="{section.letter.lower()}"></a>{section.letter} — {section.heading}', "", section.intro, ""]
        out += ["| code | title |", "|---|---|"]
        out += [f"| [{c.code}](#{c.code.lower()}) | {c.title} |" for c in entries]
        for entry in entries:
            out += ["", f'### <a id="{entry.code.lower()}"></a>{entry.code}: {entry.title}', "", entry.explanation]
            if entry.hint:
                out += ["", f"**Hint:** {entry.hint}."]
            if entry.reserved:
                out += ["", "*Reserved: policydsl does not give this code itself.*"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m policydsl.diagnostics.codes", description="Write docs/diagnostics.md from the registry of codes.")
    parser.add_argument("--check", action="store_true", help="do not write: exit 1 if the page is not what the registry gives")
    parser.add_argument("--output", type=Path, default=PAGE, help=f"the page to write or check (default: {PAGE})")
    args = parser.parse_args(argv)
    text = page()
    if args.check:
        try:
            current = args.output.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            print(f"{args.output} is stale: run `python -m policydsl.diagnostics.codes` to write it", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
