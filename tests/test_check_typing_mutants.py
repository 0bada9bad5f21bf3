"""The checker's type pass (`policydsl.check.typing`) and its types (`policydsl.check.types`),
pinned where mutation testing found gaps.

Each test names a behaviour of the type pass: the C203 / C267 diagnostic it reports (code,
line:col span, message, hint, related places), the type it infers for a definition, the
definitions it marks ill-typed, and the values of the small helpers other stages import
(`limit_value`, `limits_hold`, `with_unit`, the arithmetic table, `unify`).
docs/mutation.md says how these were found and what is left.

Policies are checked inside each test, never at import: mutmut switches mutants per call, so
a policy checked at import would be checked by the unmutated code.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from policydsl.check import CheckEnv
from policydsl.check import types as t
from policydsl.check import typing as ty
from policydsl.check.passes import PASSES
from policydsl.diagnostics.model import sort_key
from policydsl.link.inherit import link
from policydsl.api import parent_loader, parse_recovering
from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile

OWN = ("C203", "C267")  # the codes the type pass reports


def checked(text: str, root: Path | None = None, name: str = "p.policy") -> CheckEnv:
    """Parse, link and run every check pass over `text`; the scratch environment, kept whole
    (`ill_typed` is not in the frozen `Checked`)."""
    source = SourceFile(name, text)
    policy, diagnostics, _ = parse_recovering(source)
    assert policy is not None and not diagnostics, diagnostics
    linked, link_diagnostics = link(policy, source, parent_loader(root) if root is not None else None)
    assert not link_diagnostics, link_diagnostics
    env = CheckEnv(source, linked.policy, bounds=list(linked.bounds))
    env.linked = linked
    for check_pass in PASSES:
        check_pass(env)
    return env


def _span(span) -> str:
    return f"{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def rows(env: CheckEnv, codes=OWN) -> list[tuple]:
    """The errors of `codes` (all errors when None): (code, span, message, hint), then one
    (message, file, span) per related place."""
    out = []
    for d in sorted(env.diagnostics, key=sort_key):
        if not d.is_error or (codes is not None and d.code not in codes):
            continue
        row = (d.code, _span(d.span), d.message, d.hint)
        if d.related:
            row += tuple((r.message, Path(r.span.source.name).name, _span(r.span)) for r in d.related)
        out.append(row)
    return out


def found(text: str, codes=OWN) -> list[tuple]:
    return rows(checked(text), codes)


def types_of(text: str, *names: str) -> dict[str, str]:
    env = checked(text)
    assert not rows(env, None), rows(env, None)
    return {name: str(env.def_types[name]) for name in names}


# ---- diagnostics: (what, policy text, the C203 / C267 errors it gets) ------------------------
DIAGNOSTICS = [
    ('attr on money', 'input { a: money }\nrule r: money = a.x\noutput r\n', [
        ('C203', '2:17-2:20', 'money has no fields; `.x` needs a record', None),
    ]),
    ('attr unknown field suggests', 'record P { age: int  paid: money }\ninput { p: P }\nrule r: money = p.payd\noutput r\n', [
        ('C203', '3:17-3:23', 'record P has no field `payd`', 'did you mean `paid`?'),
    ]),
    ('attr unknown field lists fields', 'record P { age: int  paid: money }\ninput { p: P }\nrule r: money = p.zzzzzzz\noutput r\n', [
        ('C203', '3:17-3:26', 'record P has no field `zzzzzzz`', 'fields: age, paid'),
    ]),
    ('attr unknown member is not C203', 'enum K { a, b }\ninput { k: K }\nrule r: bool = k = K.c\noutput r\n', [
    ]),
    ('attr on error object', 'input { a: money }\nrule r: money = (a + 1%).x\noutput r\n', [
        ('C203', '2:18-2:24', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('index key type', 'table t: int -> money { 1: 1 yuan  default: 0 yuan }\ninput { a: money }\nrule r: money = t[a]\noutput r\n', [
        ('C203', '3:19-3:20', 'table `t` is keyed by int, not money', None),
    ]),
    ('index on input', 'input { a: money }\nrule r: money = a[1]\noutput r\n', [
        ('C203', '2:17-2:21', '`a` is an input; only a table can be indexed with `[...]`', None),
    ]),
    ('index on param', 'input { a: money }\nparam p = 1 yuan\nrule r: money = a + p[1]\noutput r\n', [
        ('C203', '3:21-3:25', '`p` is a param; only a table can be indexed with `[...]`', None),
    ]),
    ('index on expression', 'input { a: money }\nrule r: money = (a + a)[1]\noutput r\n', [
        ('C203', '2:17-2:27', 'only a table can be indexed with `[...]`', None),
    ]),
    ('index on undefined name', 'input { a: money }\nrule r: money = zz[1]\noutput r\n', [
    ]),
    ('index on ill-typed table', 'table t: int -> zzz { 1: 1 yuan }\ninput { a: int }\nrule r: money = t[a]\noutput r\n', [
    ]),
    ('index with ill-typed key', 'table t: int -> money { 1: 1 yuan  default: 0 yuan }\ninput { a: money }\nrule r: money = t[a + 1%]\noutput r\n', [
        ('C203', '3:19-3:25', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('enum table key literal', 'enum L { 1, 2 }\ntable t: L -> money { 1: 1 yuan  2: 2 yuan }\ninput { a: money }\nrule r: money = t[3] + t[2]\noutput r\n', [
        ('C203', '4:19-4:20', 'table `t` is keyed by L, not int', None),
    ]),
    ('not of money', 'input { a: money }\nrule r: bool = not a\noutput r\n', [
        ('C203', '2:20-2:21', 'the operand of `not` must be bool, not money', None),
    ]),
    ('negate bool', 'input { a: bool }\nrule r: money = -a\noutput r\n', [
        ('C203', '2:18-2:19', 'the operand of `-` must be money or ratio or int or number or months, not bool', None),
    ]),
    ('and with money', 'input { a: money  b: bool }\nrule r: bool = a and b\noutput r\n', [
        ('C203', '2:16-2:17', 'each side of `and` must be bool, not money', None),
    ]),
    ('or with money', 'input { a: money  b: bool }\nrule r: bool = b or a\noutput r\n', [
        ('C203', '2:21-2:22', 'each side of `or` must be bool, not money', None),
    ]),
    ('add money ratio', 'input { a: money  b: ratio }\nrule r: money = a + b\noutput r\n', [
        ('C203', '2:17-2:22', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('subtract months from money', 'input { a: money  b: months }\nrule r: money = a - b\noutput r\n', [
        ('C203', '2:17-2:22', 'cannot subtract months from money', None),
    ]),
    ('multiply money months', 'input { a: money  b: months }\nrule r: money = a * b\noutput r\n', [
        ('C203', '2:17-2:22', 'cannot multiply money and months', None),
    ]),
    ('divide money by months', 'input { a: money  b: months }\nrule r: money = a / b\noutput r\n', [
        ('C203', '2:17-2:22', 'cannot divide money by months', None),
    ]),
    ('arith with error side', 'input { a: money  b: months }\nrule r: money = (a + b) * 2 + (a - b)\noutput r\n', [
        ('C203', '2:18-2:23', 'cannot add money and months', None),
        ('C203', '2:32-2:37', 'cannot subtract months from money', None),
    ]),
    ('add date int', 'input { a: date  b: int }\nrule r: date = a + b\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot add date and int', 'dates move by months: `date + 3 months`'),
    ]),
    ('add int date', 'input { a: date  b: int }\nrule r: date = b + a\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot add int and date', 'dates move by months: `date + 3 months`'),
    ]),
    ('compare money months', 'input { a: money  b: months }\nrule r: bool = a = b\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot compare money with months', 'money and months are different units and cannot be compared'),
    ]),
    ('compare money int', 'input { a: money  b: int }\nrule r: bool = a != b\noutput r\n', [
        ('C203', '2:16-2:22', 'cannot compare money with int', 'write the number with its unit, e.g. `15000 yuan`'),
    ]),
    ('compare months int', 'input { a: months  b: int }\nrule r: bool = b = a\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot compare int with months', 'write the number with its unit, e.g. `3 months`'),
    ]),
    ('compare text int', 'input { a: text  b: int }\nrule r: bool = a = b\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot compare text with int', None),
    ]),
    ('compare error side', 'input { a: money  b: months }\nrule r: bool = (a + b) = a and a < (a + b)\noutput r\n', [
        ('C203', '2:17-2:22', 'cannot add money and months', None),
        ('C203', '2:37-2:42', 'cannot add money and months', None),
    ]),
    ('order money months', 'input { a: money  b: months }\nrule r: bool = a <= b\noutput r\n', [
        ('C203', '2:16-2:22', 'cannot order money and months with `<=`', 'money and months are different units and cannot be compared'),
    ]),
    ('order text', 'input { a: text  b: text }\nrule r: bool = a < b\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot order text and text with `<`', '`<`, `<=`, `>`, `>=` compare two values of the same unit'),
    ]),
    ('order bool', 'input { a: bool  b: bool }\nrule r: bool = a > b\noutput r\n', [
        ('C203', '2:16-2:21', 'cannot order bool and bool with `>`', '`<`, `<=`, `>`, `>=` compare two values of the same unit'),
    ]),
    ('order money number', 'input { a: money  b: number }\nrule r: bool = a >= b\noutput r\n', [
        ('C203', '2:16-2:22', 'cannot order money and number with `>=`', 'write the number with its unit, e.g. `15000 yuan`'),
    ]),
    ('order int number fine', 'input { a: int  b: number  c: date  d: ratio  m: months }\nrule r: bool = a < b and c <= c and d > 1% and m >= 1 month\noutput r\n', [
    ]),
    ('in set of int', 'input { a: money }\nrule r: bool = a in {1, 2}\noutput r\n', [
        ('C203', '2:16-2:27', 'a money cannot be in a set of int', None),
    ]),
    ('in table keyed int', 'table t: int -> money { 1: 1 yuan  default: 0 yuan }\ninput { a: money }\nrule r: bool = a in t\noutput r\n', [
        ('C203', '3:16-3:22', 'a money cannot be a key of a table keyed by int', None),
    ]),
    ('in money', 'input { a: money  b: money }\nrule r: bool = a in b\noutput r\n', [
        ('C203', '2:21-2:22', '`in` needs a set or a table, not money', None),
    ]),
    ('in with error side', 'input { a: money  b: money }\nrule r: bool = (a + 1%) in {1 yuan} or a in {1 yuan, 2%}\noutput r\n', [
        ('C203', '2:17-2:23', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '2:54-2:56', 'a set mixes money and ratio', None),
    ]),
    ('not in set', 'input { a: int }\nrule r: bool = a not in {1, 2} and 3 in {1, 2.5}\noutput r\n', [
    ]),
    ('enum int in set', 'enum L { 1, 2, 3 }\ninput { l: L  i: int }\nrule r: bool = l in {1, 2} and i in {l}\noutput r\n', [
    ]),
    ('tier apply ratio end', 'tiers s { from 0 yuan to 100 yuan: 50%  above 100 yuan: 60% }\ninput { a: money }\nrule r: money = s(from a to 5%)\noutput r\n', [
        ('C203', '3:29-3:31', 'the end of a tier band must be money, not ratio', None),
    ]),
    ('tier apply ratio start', 'tiers s { from 0 yuan to 100 yuan: 50%  above 100 yuan: 60% }\ninput { a: money }\nrule r: money = s(from 1% to a)\noutput r\n', [
        ('C203', '3:24-3:26', 'the start of a tier band must be money, not ratio', None),
    ]),
    ('tiers as value', 'tiers s { from 0 yuan to 100 yuan: 50%  above 100 yuan: 60% }\ninput { a: money }\nrule r: money = s + a\noutput r\n', [
        ('C203', '3:17-3:18', '`s` is a tier schedule; apply it with `s(from A to B)`', None),
    ]),
    ('tier definition types', 'tiers s { from 0 yuan to 1 month: 50%  above 100: 60 yuan }\ninput { a: money }\nrule r: money = s(from 0 yuan to a)\noutput r\n', [
        ('C203', '1:26-1:33', 'a tier bound must be money, not months', None),
        ('C203', '1:46-1:49', 'a tier bound must be money, not int', None),
        ('C203', '1:51-1:58', 'a tier rate must be ratio, not money', None),
    ]),
    ('sum over money', 'record I { amt: money  ok: bool }\ninput { items: list of I  a: money }\nrule r: money = sum(i.amt for i in a)\noutput r\n', [
        ('C203', '3:36-3:37', '`sum` goes over a list, not money', None),
    ]),
    ('sum over error', 'record I { amt: money  ok: bool }\ninput { items: list of I  a: money }\nrule r: money = sum(i.amt for i in (a + 1%))\noutput r\n', [
        ('C203', '3:37-3:43', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('sum where money', 'record I { amt: money  ok: bool }\ninput { items: list of I  a: money }\nrule r: money = sum(i.amt for i in items where i.amt)\noutput r\n', [
        ('C203', '3:48-3:53', 'a `where` condition must be bool, not money', None),
    ]),
    ('sum of dates', 'record I { amt: money  ok: bool  d: date }\ninput { items: list of I }\nrule r: money = sum(i.d for i in items)\noutput r\n', [
        ('C203', '3:21-3:24', 'what `sum` adds up must be money or ratio or int or number or months, not date', None),
    ]),
    ('count where money', 'record I { amt: money }\ninput { items: list of I }\nrule r: int = count(i in items where i.amt)\noutput r\n', [
        ('C203', '3:38-3:43', 'a `where` condition must be bool, not money', None),
    ]),
    ('empty set', 'input { a: money }\nrule r: bool = a in {}\noutput r\n', [
        ('C203', '2:21-2:23', 'an empty set has no element type', None),
    ]),
    ('set with error item', 'input { a: money }\nrule r: bool = a in {a, -true}\noutput r\n', [
        ('C203', '2:26-2:30', 'the operand of `-` must be money or ratio or int or number or months, not bool', None),
    ]),
    ('set of records', 'record I { amt: money }\ninput { a: money  i: I }\nrule r: bool = a in {i}\noutput r\n', [
        ('C203', '3:22-3:23', 'a set holds single values (numbers, money, dates, enum members), not a I', None),
    ]),
    ('set of lists', 'input { a: money  l: list of money }\nrule r: bool = a in {a, l}\noutput r\n', [
        ('C203', '2:25-2:26', 'a set holds single values (numbers, money, dates, enum members), not a list of money', None),
    ]),
    ('set mixes', 'input { a: money }\nrule r: bool = a in {1 yuan, 2%}\noutput r\n', [
        ('C203', '2:30-2:32', 'a set mixes money and ratio', None),
    ]),
    ('set of shared members', 'enum E1 { x, y }\nenum E2 { x, y }\ninput { a: E1 }\nrule r: bool = a in {x, y}\noutput r\n', [
        ('C203', '4:21-4:27', 'the members of this set belong to several enums (E1, E2)', 'qualify one member, e.g. `Enum.member`'),
    ]),
    ('set of one shared member', 'enum E1 { x, y }\nenum E2 { x, z }\ninput { a: E1 }\nrule r: bool = a in {x}\noutput r\n', [
        ('C203', '4:21-4:24', 'the members of this set belong to several enums (E1, E2)', 'qualify one member, e.g. `Enum.member`'),
    ]),
    ('set narrowed to one enum', 'enum E1 { x, y }\nenum E2 { x, z }\ninput { a: E1  b: E2 }\nrule r: bool = a in {x, y} and b in {z, x}\noutput r\n', [
    ]),
    ('set members of different enums', 'enum E1 { x, y }\nenum E2 { z, w }\ninput { a: E1 }\nrule r: bool = a in {y, z}\noutput r\n', [
        ('C203', '4:25-4:26', 'a set mixes E1 and E2', None),
    ]),
    ('let value error', 'input { a: money }\nrule r: money = let b = a + 1% in b\noutput r\n', [
        ('C203', '2:25-2:31', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('let body error', 'input { a: money }\nrule r: money = let b = a * 2 in b + 1%\noutput r\n', [
        ('C203', '2:34-2:40', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('when condition money', 'input { a: money  c: bool }\nrule r: money = when a then 1 yuan otherwise 2 yuan\noutput r\n', [
        ('C203', '2:22-2:23', 'a `when` condition must be bool, not money', None),
    ]),
    ('branch ratio after money', 'input { a: money  c: bool }\nrule r: money = when c then 1 yuan when not c then 5% otherwise 2 yuan\noutput r\n', [
        ('C203', '2:52-2:54', 'this branch gives ratio but an earlier one gives money', 'every branch of a conditional must give the same unit'),
    ]),
    ('branch int after money', 'input { a: money  c: bool }\nrule r: money = when c then 1 yuan when not c then 5 otherwise 2 yuan\noutput r\n', [
        ('C203', '2:52-2:53', 'this branch gives int but an earlier one gives money', 'every branch of a conditional must give the same unit'),
    ]),
    ('branch money after int', 'input { a: money  c: bool }\nrule r: money = when c then 5 when not c then 1 yuan otherwise 2 yuan\noutput r\n', [
        ('C203', '2:47-2:53', 'this branch gives money but an earlier one gives int', 'every branch of a conditional must give the same unit'),
    ]),
    ('min one value', 'input { a: money }\nrule r: money = min(a)\noutput r\n', [
        ('C203', '2:17-2:23', '`min` takes two or more values', None),
    ]),
    ('max no value', 'input { a: money }\nrule r: money = max()\noutput r\n', [
        ('C203', '2:17-2:22', '`max` takes two or more values', None),
    ]),
    ('clamp two values', 'input { a: money }\nrule r: money = clamp(a, 1 yuan)\noutput r\n', [
        ('C203', '2:17-2:33', '`clamp` takes three values: clamp(value, lowest, highest)', None),
    ]),
    ('clamp four values', 'input { a: money }\nrule r: money = clamp(a, 1 yuan, 2 yuan, 3 yuan)\noutput r\n', [
        ('C203', '2:17-2:49', '`clamp` takes three values: clamp(value, lowest, highest)', None),
    ]),
    ('clamp mixes', 'input { a: money }\nrule r: money = clamp(a, 1 yuan, 5%)\noutput r\n', [
        ('C203', '2:34-2:36', '`clamp` mixes money and ratio', 'all values given to `clamp` must have the same unit'),
    ]),
    ('max mixes money int', 'input { a: money  b: int }\nrule r: money = max(a, b)\noutput r\n', [
        ('C203', '2:24-2:25', '`max` mixes money and int', 'write the number with its unit, e.g. `15000 yuan`'),
    ]),
    ('min of text', 'input { a: text }\nrule r: text = min(a, a)\noutput r\n', [
        ('C203', '2:16-2:25', '`min` needs values that can be ordered, not text', None),
    ]),
    ('min of bool', 'input { a: bool }\nrule r: bool = max(a, a, a)\noutput r\n', [
        ('C203', '2:16-2:28', '`max` needs values that can be ordered, not bool', None),
    ]),
    ('min with error arg', 'input { a: money }\nrule r: money = min(a, a + 1%)\noutput r\n', [
        ('C203', '2:24-2:30', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('min mixes third', 'input { a: money }\nrule r: money = min(a, a, 3 months)\noutput r\n', [
        ('C203', '2:27-2:35', '`min` mixes money and months', 'money and months are different units and cannot be compared'),
    ]),
    ('round no mode', 'input { a: money }\nrule r: money = round(a + 1%)\noutput r\n', [
        ('C203', '2:17-2:30', '`round` needs a rounding mode', 'rounding is explicit: round(x, half_up); modes: half_up, half_even, down, up'),
        ('C203', '2:23-2:29', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('round four values', 'input { a: money }\nrule r: money = round(a, half_up, 1 yuan, 2 yuan + 1%)\noutput r\n', [
        ('C203', '2:17-2:55', '`round` takes a value, a mode and a step, not 4 values: round(x, half_up) or round(x, half_up, 10 yuan)', None),
        ('C203', '2:43-2:54', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('round near mode', 'input { a: money }\nrule r: money = round(a, halfup)\noutput r\n', [
        ('C203', '2:26-2:32', 'unknown rounding mode `halfup`', 'did you mean `half_up`?'),
    ]),
    ('round far mode', 'input { a: money }\nrule r: money = round(a + 1%, zzzzzz)\noutput r\n', [
        ('C203', '2:23-2:29', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '2:31-2:37', 'unknown rounding mode `zzzzzz`', 'modes: half_up, half_even, down, up'),
    ]),
    ('round mode expression', 'input { a: money }\nrule r: money = round(a, 1 yuan)\noutput r\n', [
        ('C203', '2:26-2:32', 'unknown rounding mode `1 yuan`', 'modes: half_up, half_even, down, up'),
    ]),
    ('round value error', 'input { a: money }\nrule r: money = round(a + 1%, half_up)\noutput r\n', [
        ('C203', '2:23-2:29', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('round ratio to fen', 'input { a: ratio }\nrule r: money = round(a, half_up)\noutput r\n', [
        ('C203', '2:23-2:24', 'what `round` rounds to the fen must be money, not ratio', None),
    ]),
    ('round step of other type', 'input { a: ratio }\nrule r: ratio = round(a, half_even, 1 yuan)\noutput r\n', [
        ('C203', '2:37-2:43', 'the step of `round` must be a ratio written out, like 0.1%', None),
    ]),
    ('round date', 'input { a: date }\nrule r: ratio = round(a, half_even, 1 yuan)\noutput r\n', [
        ('C203', '2:23-2:24', 'what `round` rounds must be money or ratio or number, not date', None),
    ]),
    ('round step below fen', 'input { a: money }\nrule r: money = round(a, half_even, 0.001 yuan)\noutput r\n', [
        ('C203', '2:37-2:47', 'money is rounded to the fen at most: the step must be 0.01 yuan or more', None),
    ]),
    ('round step 20', 'input { a: money }\nrule r: money = round(a, half_even, 20 yuan)\noutput r\n', [
        ('C203', '2:37-2:44', 'the step of `round` must be a power of ten (10 yuan, 0.1%, 0.001), not 20 yuan', None),
    ]),
    ('round step 0', 'input { a: money }\nrule r: money = round(a, half_even, 0 yuan)\noutput r\n', [
        ('C203', '2:37-2:43', 'the step of `round` must be a power of ten (10 yuan, 0.1%, 0.001), not 0 yuan', None),
    ]),
    ('round step negative', 'input { a: money }\nrule r: money = round(a, half_even, -10 yuan)\noutput r\n', [
        ('C203', '2:37-2:45', 'the step of `round` must be a money written out, like 10 yuan', None),
    ]),
    ('round step name', 'input { a: money }\nrule r: money = round(a, half_even, a)\noutput r\n', [
        ('C203', '2:37-2:38', 'the step of `round` must be a money written out, like 10 yuan', None),
    ]),
    ('round step text', 'input { a: number }\nrule r: number = round(a, half_even, "1")\noutput r\n', [
        ('C203', '2:38-2:41', 'the step of `round` must be a number written out, like 0.001', None),
    ]),
    ('round step bool', 'input { a: number }\nrule r: number = round(a, half_even, true)\noutput r\n', [
        ('C203', '2:38-2:42', 'the step of `round` must be a number written out, like 0.001', None),
    ]),
    ('round step 0.5', 'input { a: number }\nrule r: number = round(a, half_even, 0.5)\noutput r\n', [
        ('C203', '2:38-2:41', 'the step of `round` must be a power of ten (10 yuan, 0.1%, 0.001), not 0.5', None),
    ]),
    ('round step 0.01 fine', 'input { a: money }\nrule r: money = round(a, half_even, 0.01 yuan) + round(a, up, 100 yuan)\noutput r\n', [
    ]),
    ('round number by int step', 'input { a: number  b: ratio }\nrule r: number = round(a, down, 10) + round(a, up, 0.01)\nrule q: ratio = round(b, half_up, 0.01%) + round(b, half_up, 1)\noutput r, q\n', [
        ('C203', '3:62-3:63', 'the step of `round` must be a ratio written out, like 0.1%', None),
    ]),
    ('add_days one value', 'input { a: date }\nrule r: date = add_days(a)\noutput r\n', [
        ('C203', '2:16-2:27', '`add_days` takes 2 values: add_days(date, days)', None),
    ]),
    ('year_start two values', 'input { a: date }\nrule r: date = year_start(a, a + 1%)\noutput r\n', [
        ('C203', '2:16-2:37', '`year_start` takes 1 value: year_start(date)', None),
        ('C203', '2:30-2:36', 'cannot add date and ratio', 'dates move by months: `date + 3 months`'),
    ]),
    ('add_days money days', 'input { a: date }\nrule r: date = add_days(a, 1 yuan)\noutput r\n', [
        ('C203', '2:28-2:34', 'the number of days of `add_days` must be int, not money', None),
    ]),
    ('add_days money date', 'input { a: date }\nrule r: date = add_days(1 yuan, 1 yuan)\noutput r\n', [
        ('C203', '2:25-2:31', 'the date of `add_days` must be date, not money', None),
    ]),
    ('age of money', 'input { a: date }\nrule r: int = age(a, 1 yuan)\noutput r\n', [
        ('C203', '2:22-2:28', 'the date of `age` must be date, not money', None),
    ]),
    ('unknown function far', 'input { a: date }\nrule r: int = sqrt(a + 1%)\noutput r\n', [
        ('C203', '2:15-2:27', 'unknown function `sqrt`', 'functions are: min, max, clamp, round, add_days, days_between, months_between, years_between, age, year_start; tier schedules are applied as NAME(from A to B)'),
        ('C203', '2:20-2:26', 'cannot add date and ratio', 'dates move by months: `date + 3 months`'),
    ]),
    ('unknown function near', 'input { a: date }\nrule r: int = ag(a, a)\noutput r\n', [
        ('C203', '2:15-2:23', 'unknown function `ag`', 'did you mean `age`?'),
    ]),
    ('unknown function lists functions', 'function f(x: money, y: int): money = x * y\ninput { a: date }\nrule r: int = zzzz(a, a)\noutput r\n', [
        ('C203', '3:15-3:25', 'unknown function `zzzz`', 'functions are: min, max, clamp, round, add_days, days_between, months_between, years_between, age, year_start, f; tier schedules are applied as NAME(from A to B)'),
    ]),
    ('function gives a record', 'record I { amt: money }\nfunction f(x: money, y: int): I = x\ninput { a: money }\nrule r: money = a\noutput r\n', [
        ('C203', '2:31-2:32', 'function `f` gives I: a function gives one value (money, a ratio, a number, a date, ...)', None),
        ('C203', '2:35-2:36', 'function `f` is declared I, but its body gives money', None),
    ]),
    ('function gives a list', 'function f(x: money): list of money = x\ninput { a: money }\nrule r: money = a + f(a)\noutput r\n', [
        ('C203', '1:23-1:36', 'function `f` gives list of money: a function gives one value (money, a ratio, a number, a date, ...)', None),
        ('C203', '1:39-1:40', 'function `f` is declared list of money, but its body gives money', None),
        ('C203', '3:17-3:25', 'cannot add money and list of money', None),
    ]),
    ('function body differs', 'function f(x: money): ratio = 0.5\ninput { a: money }\nrule r = f(a)\noutput r\n', [
        ('C203', '1:31-1:34', 'function `f` is declared ratio, but its body gives number', None),
    ]),
    ('function body money for ratio', 'function f(x: money): ratio = x\ninput { a: money }\nrule r = f(a)\noutput r\n', [
        ('C203', '1:31-1:32', 'function `f` is declared ratio, but its body gives money', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('function body error', 'function f(x: money): money = x + 1%\ninput { a: money }\nrule r = f(a)\noutput r\n', [
        ('C203', '1:31-1:37', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('function unknown type', 'function f(x: money): zzz = x\ninput { a: money }\nrule r: money = a\noutput r\n', [
    ]),
    ('function too few', 'function f(x: money, y: int): money = x * y\ninput { a: money }\nrule r: money = f(a)\noutput r\n', [
        ('C203', '3:17-3:21', '`f` takes 2 values (x: money, y: int), not 1', None),
    ]),
    ('function too many', 'function f(x: money): money = x\ninput { a: money }\nrule r: money = f(a, 1, 2)\noutput r\n', [
        ('C203', '3:17-3:27', '`f` takes 1 value (x: money), not 3', None),
    ]),
    ('function arg type', 'function f(x: money, y: int): money = x * y\ninput { a: money }\nrule r: money = f(a, 1%)\noutput r\n', [
        ('C203', '3:22-3:24', 'parameter `y` of `f` is int, not ratio', None),
    ]),
    ('function arg errors', 'function f(x: money, y: zzz): money = x\ninput { a: money }\nrule r: money = f(a + 1%, 1)\noutput r\n', [
        ('C203', '3:19-3:25', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('dated values differ', 'policy "x" as of day\ninput { a: money  day: date }\nparam p = 1 yuan from 2025-01-01 until 2025-12-31\nparam p = 5% from 2026-01-01\nrule r = a * 2 + p\noutput r\n', [
        ('C203', '4:11-4:13', 'the dated values of `p` have different units: money and ratio', None),
    ]),
    ('dated rule values differ', 'policy "x" as of day\ninput { a: money  day: date }\nrule r from 2025-01-01 until 2025-12-31 = a\nrule r from 2026-01-01 = 5%\noutput r\n', [
        ('C203', '4:26-4:28', 'the dated values of `r` have different units: money and ratio', None),
    ]),
    ('dated values, first is error', 'policy "x" as of day\ninput { a: money  day: date }\nparam p = 1 yuan + 1% from 2025-01-01 until 2025-12-31\nparam p = 5% from 2026-01-01\nparam q = 1 yuan from 2025-01-01 until 2025-12-31\nparam q = 2 yuan + 1% from 2026-01-01\nrule r = a * p + q\noutput r\n', [
        ('C203', '3:11-3:22', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '6:11-6:22', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('declared money, ratio value', 'input { a: money }\nparam p: money = 5%\nrule r = a + p\noutput r\n', [
        ('C203', '2:18-2:20', '`p` is declared money but its value is ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('declared money, int value', 'input { a: money }\nparam p: money = 5\nrule r = a + p\noutput r\n', [
        ('C203', '2:18-2:19', '`p` is declared money but its value is int', 'write the number with its unit, e.g. `0 yuan`'),
    ]),
    ('declared ratio, bool value', 'input { a: money }\nparam p: ratio = true\nrule r = a * p\noutput r\n', [
        ('C203', '2:18-2:22', '`p` is declared ratio but its value is bool', None),
    ]),
    ('declared number, int value fine', 'input { a: money }\nparam p: number = 5\nrule r = a * p\noutput r\n', [
    ]),
    ('declared months, date value', 'input { a: money }\nparam p: months = 2025-01-01\nrule r = p\noutput r\n', [
        ('C203', '2:19-2:29', '`p` is declared months but its value is date', 'dates move by months: `date + 3 months`'),
    ]),
    ('table rows', 'table t: int -> money { 1: 5%  2: 2  3: 3 yuan default: 0 yuan }\ninput { a: int }\nrule r = t[a]\noutput r\n', [
        ('C203', '1:28-1:30', 'table `t` holds money, but this row is ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '1:35-1:36', 'table `t` holds money, but this row is int', 'write the number with its unit, e.g. `0 yuan`'),
    ]),
    ('table rows number', 'table t: int -> number { 1: 5  2: true  default: 0.5 }\ninput { a: int }\nrule r = t[a]\noutput r\n', [
        ('C203', '1:35-1:39', 'table `t` holds number, but this row is bool', None),
    ]),
    ('table row error', 'table t: int -> money { 1: 5 yuan + 1%  default: 0 yuan }\ninput { a: int }\nrule r = t[a]\noutput r\n', [
        ('C203', '1:28-1:39', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('defaults', 'record R { x: money = 5%  y: ratio = 1 yuan  z: number = 1  w: money = 3 }\ninput { a: money  rr: R  b: money = 2% c: months = 3 }\nrule r = a\noutput r\n', [
        ('C203', '1:23-1:25', 'field `x` is money but its default is ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '1:38-1:44', 'field `y` is ratio but its default is money', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '1:72-1:73', 'field `w` is money but its default is int', 'write the number with its unit, e.g. `0 yuan`'),
        ('C203', '2:37-2:39', 'field `b` is money but its default is ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '2:52-2:53', 'field `c` is months but its default is int', 'write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`'),
    ]),
    ('default error', 'input { a: money = 1 yuan + 1%  b: zzz = 1 }\nrule r = a\noutput r\n', [
        ('C203', '1:20-1:31', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('invariant and require', 'input { a: money }\ninvariant inv: a\nrequire a: a + 1 yuan\nrule r = a\noutput r\n', [
        ('C203', '2:16-2:17', 'invariant `inv` must be bool, not money', None),
        ('C203', '3:12-3:22', '`require a` must be bool, not money', None),
    ]),
    ('limits fine', 'input { a: int in 0..150  b: money <= 100 yuan = 5 yuan  c: ratio >= 0% = 5%  d: date >= 2025-01-01  e: months < 3 months  f: number > -1.5  g: number in -1..1 }\nrule r = a\noutput r\n', [
    ]),
    ('limit text', 'input { a: text in 0..1 }\nrule r = a\noutput r\n', [
        ('C267', '1:20-1:21', 'field `a` is text, which has no order to limit', 'limits are for int, months, money, ratio, number and date fields'),
    ]),
    ('limit bool', 'input { a: bool >= 1 }\nrule r = a\noutput r\n', [
        ('C267', '1:20-1:21', 'field `a` is bool, which has no order to limit', 'limits are for int, months, money, ratio, number and date fields'),
    ]),
    ('limit list', 'input { a: list of int >= 1 }\nrule r = count(x in a)\noutput r\n', [
        ('C267', '1:27-1:28', 'field `a` is list of int, which has no order to limit', 'limits are for int, months, money, ratio, number and date fields'),
    ]),
    ('limit int by decimal', 'input { a: int in 0..1.5 }\nrule r = a\noutput r\n', [
        ('C267', '1:22-1:25', 'a limit of `a` must be written out as int, like `150`', None),
    ]),
    ('limit money by int', 'input { a: money in 0..10 }\nrule r = a\noutput r\n', [
        ('C267', '1:21-1:22', 'a limit of `a` must be written out as money, like `1_000_000 yuan`', None),
    ]),
    ('limit money second bound', 'input { a: money in 0 yuan..10 }\nrule r = a\noutput r\n', [
        ('C267', '1:29-1:31', 'a limit of `a` must be written out as money, like `1_000_000 yuan`', None),
    ]),
    ('limit ratio by money', 'input { a: ratio <= 10 yuan }\nrule r = a\noutput r\n', [
        ('C267', '1:21-1:28', 'a limit of `a` must be written out as ratio, like `100%`', None),
    ]),
    ('limit months by negative int', 'input { a: months >= -1 }\nrule r = a\noutput r\n', [
        ('C267', '1:22-1:24', 'a limit of `a` must be written out as months, like `3 months`', None),
    ]),
    ('limit empty range', 'input { a: int in 10..1 }\nrule r = a\noutput r\n', [
        ('C267', '1:19-1:21', 'the limits of `a` admit no value: 10 is above 1', None),
    ]),
    ('limit negative range', 'input { a: int in -1..-5 }\nrule r = a\noutput r\n', [
        ('C267', '1:19-1:21', 'the limits of `a` admit no value: -1 is above -5', None),
    ]),
    ('limit one value range', 'input { a: int in 1..1 = 1 }\nrule r = a\noutput r\n', [
    ]),
    ('limit default above', 'input { a: int in 0..10 = 11 }\nrule r = a\noutput r\n', [
        ('C267', '1:27-1:29', 'the default of `a` is outside its limits', None),
    ]),
    ('limit defaults at bounds', 'input { a: money in 0 yuan..10 yuan = 10 yuan  b: int > 0 = 0  c: int < 5 = 5  d: int >= 5 = 5  e: int <= 5 = 5  f: int > 0 = 1  g: int < 5 = 4  h: int >= 5 = 4  i: int <= 5 = 6 }\nrule r = a\noutput r\n', [
        ('C267', '1:61-1:62', 'the default of `b` is outside its limits', None),
        ('C267', '1:77-1:78', 'the default of `c` is outside its limits', None),
        ('C267', '1:160-1:161', 'the default of `h` is outside its limits', None),
        ('C267', '1:177-1:178', 'the default of `i` is outside its limits', None),
    ]),
    ('limit unknown type', 'input { a: zzz in 0..10 }\nrule r = 1\noutput r\n', [
    ]),
    ('record field limits', 'record P { age: int in 0..150 = 200  name: text >= 1 }\ninput { p: P }\nrule r = p.age\noutput r\n', [
        ('C267', '1:33-1:36', 'the default of `age` is outside its limits', None),
        ('C267', '1:52-1:53', 'field `name` is text, which has no order to limit', 'limits are for int, months, money, ratio, number and date fields'),
    ]),
    ('undefined name is no type error', 'input { a: money }\nrule r = zz + 1% + a\noutput r\n', [
    ]),
    ('compare months number', 'input { m: months }\nrule r = m = 2.5\noutput r\n', [
        ('C203', '2:10-2:17', 'cannot compare months with number', None),
    ]),
    ('compare money ratio', 'input { a: money }\nrule r = a = 5%\noutput r\n', [
        ('C203', '2:10-2:16', 'cannot compare money with ratio', None),
    ]),
    ("a date function's error is reported once", 'input { a: date }\nrule r = add_days(a, 1 yuan) + 1 yuan\nrule q = year_start(a, a) + 1 yuan\noutput r, q\n', [
        ('C203', '2:22-2:28', 'the number of days of `add_days` must be int, not money', None),
        ('C203', '3:10-3:26', '`year_start` takes 1 value: year_start(date)', None),
    ]),
    ('arguments typed when the count is wrong', 'function f(x: money, y: int): money = x * y\ninput { a: money }\nrule r: money = f(a + 1%)\noutput r\n', [
        ('C203', '3:17-3:26', '`f` takes 2 values (x: money, y: int), not 1', None),
        ('C203', '3:19-3:25', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('enum parameter given an int not a member', 'enum L { 1, 2 }\nfunction h(x: L): int = 1\ninput { a: money }\nrule r = h(5) + h(2)\noutput r\n', [
        ('C203', '4:12-4:13', 'parameter `x` of `h` is L, not int', None),
    ]),
    ('function declared number gives int', 'function k(x: money): number = 1\ninput { a: money }\nrule r = k(a) * a\noutput r\n', [
    ]),
    ('a dropped row outside an override', 'table t: int -> money { 1: 1 yuan  drop 2  3: 5% }\ninput { a: int }\nrule r = t[a]\noutput r\n', [
        ('C203', '1:47-1:49', 'table `t` holds money, but this row is ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('round to an unlimited step', 'input { a: money }\nrule r = round(a, half_up, unlimited)\noutput r\n', [
        ('C203', '2:28-2:37', 'the step of `round` must be a power of ten (10 yuan, 0.1%, 0.001), not unlimited', None),
    ]),
    ('declared date, int value', 'input { a: money }\nparam p: date = 5\nrule r = p\noutput r\n', [
        ('C203', '2:17-2:18', '`p` is declared date but its value is int', None),
    ]),
    ('limit negative date', 'input { a: date >= -2025-01-01 }\nrule r = a\noutput r\n', [
        ('C267', '1:20-1:31', 'a limit of `a` must be written out as date, like `2025-01-01`', None),
    ]),
    ('earlier branches, one bare', 'input { a: money  c: bool  d: bool }\nparam p = 5\nrule r = when c then 1 when d then p otherwise a\noutput r\n', [
        ('C203', '2:11-2:12', 'param `p` is a number; its uses need money: write `5 yuan`', 'a number has no unit: an amount of money is written with `yuan` (or `元`)', ('used as money here', 'p.policy', '3:36-3:37')),
    ]),
    ('later branches merge', 'input { a: money  c: bool  d: bool }\nrule r = (when c then 1 when d then 2.5 otherwise 3) + 1%\noutput r\n', [
        ('C203', '2:10-2:58', 'cannot add number and ratio', None),
    ]),
    ('a cycle is no type error', 'input { a: money }\nrule r = s + a + 1%\nrule s = r\noutput r\n', [
    ]),
    ('a table of an unknown type', 'table t: int -> zzz { 1: 1 yuan }\ntable u: zzz -> money { 1: 1 yuan }\ninput { a: int }\nrule r = t[a] + u[a]\nrule q = a in u or a in t\noutput r, q\n', [
    ]),
    ('a set of enum members and an int', 'enum K { a, b }\ninput { k: K }\nrule r = k in {a, 1}\noutput r\n', [
        ('C203', '3:19-3:20', 'a set mixes K and int', None),
    ]),
    ('an input field of an unknown type', 'input { a: zzz  b: money }\nrule r = a + b + 1%\noutput r\n', [
    ]),
    ('record field from a list', 'record I { amt: money }\ninput { items: list of I }\nrule r = items.amt\noutput r\n', [
        ('C203', '3:10-3:19', 'list of I has no fields; `.amt` needs a record', None),
    ]),
    ('an int literal in a set of enum members', 'enum L { 1, 2, 3 }\ninput { l: L  i: int }\nrule r = 5 in {l} or 2 in {l} or l in {5}\noutput r\n', [
        ('C203', '3:10-3:18', 'an int cannot be in a set of L', None),
        ('C203', '3:40-3:41', '5 is not a member of L (1, 2, 3)', None),
    ]),
    ('an int literal as a key of an enum table', 'enum L { 1, 2 }\ntable t: L -> money { 1: 1 yuan  2: 2 yuan }\ninput { i: int }\nrule r = 3 in t or 2 in t or i in t\noutput r\n', [
        ('C203', '4:10-4:16', 'a int cannot be a key of a table keyed by L', None),
    ]),
    ('index on an enum member', 'enum K { a, b }\ninput { x: money }\nrule r = K.a[1]\noutput r\n', [
        ('C203', '3:10-3:16', 'only a table can be indexed with `[...]`', None),
    ]),
    ('a bare int times a date', 'input { d: date }\nparam p = 3\nrule r = p * d\noutput r\n', [
        ('C203', '3:10-3:15', 'cannot multiply int and date', None),
    ]),
    ('a bare int divided by a ratio', 'input { d: date }\nparam p = 3\nrule q = p / 5%\noutput q\n', [
        ('C203', '3:10-3:16', 'cannot divide int by ratio', None),
    ]),
    ('a lone member compared with an int', 'enum K { a, b }\ninput { i: int }\nrule r = b = 1 or b = i\noutput r\n', [
        ('C203', '3:10-3:15', 'cannot compare K with int', None),
        ('C203', '3:19-3:24', 'cannot compare K with int', None),
    ]),
    ('a set mixes a shared member and money', 'enum E1 { x, y }\nenum E2 { x, z }\ninput { a: money }\nrule r = a in {x, 1 yuan}\noutput r\n', [
        ('C203', '4:19-4:25', 'a set mixes member `x` of E1 or E2 and money', None),
    ]),
    ('clamp of text', 'input { s: text }\nrule r = clamp(s, s, s)\noutput r\n', [
        ('C203', '2:10-2:24', '`clamp` needs values that can be ordered, not text', None),
    ]),
    ('round four values, the step wrong', 'input { a: money }\nrule r = round(a, half_up, a + 1%, a)\noutput r\n', [
        ('C203', '2:10-2:38', '`round` takes a value, a mode and a step, not 4 values: round(x, half_up) or round(x, half_up, 10 yuan)', None),
        ('C203', '2:28-2:34', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
    ]),
    ('each argument checked after a wrong one', 'function f(x: money, y: int): money = x * y\ninput { a: money }\nrule r = f(a + 1%, 1%)\noutput r\n', [
        ('C203', '3:12-3:18', 'cannot add money and ratio', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '3:20-3:22', 'parameter `y` of `f` is int, not ratio', None),
    ]),
    ('declared ratio, money value', 'input { a: money }\nparam p: ratio = 5 yuan\nparam q: int = 3 months\nrule r = a * p * q\noutput r\n', [
        ('C203', '2:18-2:24', '`p` is declared ratio but its value is money', 'a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios'),
        ('C203', '3:16-3:24', '`q` is declared int but its value is months', 'write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`'),
    ]),
    ('a cycle through arithmetic', 'input { a: money }\nrule r = s + a\nrule s = r + a\noutput r\n', [
    ]),
]


@pytest.mark.parametrize("text,expected", [pytest.param(text, expected, id=what) for what, text, expected in DIAGNOSTICS])
def test_type_errors_are_reported_with_code_span_message_and_hint(text, expected):
    assert found(text) == expected


# ---- inferred types: (what, policy text without errors, {definition: its type}) ---------------
TYPES = [
    ('literals', 'input { a: money }\nrule m = 1 yuan\nrule p = 5%\nrule i = 3\nrule x = 1.5\nrule b = true\nrule d = 2025-01-01\nrule mo = 2 months\nrule s = "t"\nrule u = unlimited\noutput m, p, i, x, b, d, mo, s, u\n', {
        'm': 'money',
        'p': 'ratio',
        'i': 'int',
        'x': 'number',
        'b': 'bool',
        'd': 'date',
        'mo': 'months',
        's': 'text',
        'u': 'money',
    }),
    ('arith', 'input { a: money  r: ratio  i: int  x: number  d: date  m: months }\nrule a1 = a + a\nrule a2 = r - r\nrule a3 = i + i\nrule a4 = i + x\nrule a5 = d + m\nrule a6 = m + d\nrule a7 = d - m\nrule a8 = i * i\nrule a9 = i / i\nrule b1 = a * r\nrule b2 = r * a\nrule b3 = a / i\nrule b4 = r * x\nrule b5 = m * i\nrule b6 = a / a\nrule b7 = -m\nrule b8 = -(r)\noutput a1, a2, a3, a4, a5, a6, a7, a8, a9, b1, b2, b3, b4, b5, b6, b7, b8\n', {
        'a1': 'money',
        'a2': 'ratio',
        'a3': 'int',
        'a4': 'number',
        'a5': 'date',
        'a6': 'date',
        'a7': 'date',
        'a8': 'int',
        'a9': 'number',
        'b1': 'money',
        'b2': 'money',
        'b3': 'money',
        'b4': 'ratio',
        'b5': 'months',
        'b6': 'number',
        'b7': 'months',
        'b8': 'ratio',
    }),
    ('logic', 'input { a: money  c: bool }\nrule l1 = not c\nrule l2 = c and c\nrule l3 = c or c\nrule l4 = a > 1 yuan\nrule l5 = a = 1 yuan\nrule l6 = a in {1 yuan}\noutput l1, l2, l3, l4, l5, l6\n', {
        'l1': 'bool',
        'l2': 'bool',
        'l3': 'bool',
        'l4': 'bool',
        'l5': 'bool',
        'l6': 'bool',
    }),
    ('calls', 'input { a: money  d: date  r: ratio  x: number }\nrule c1 = min(a, a)\nrule c2 = max(1, 2.5)\nrule c3 = clamp(r, 0%, 100%)\nrule c4 = round(a, half_up)\nrule c5 = round(r, down, 0.1%)\nrule c6 = round(x, up, 1)\nrule c7 = add_days(d, 1)\nrule c8 = days_between(d, d)\nrule c9 = months_between(d, d)\nrule d1 = years_between(d, d)\nrule d2 = age(d, d)\nrule d3 = year_start(d)\nrule d4 = max(d, d)\nrule d5 = min(1, 2)\noutput c1, c2, c3, c4, c5, c6, c7, c8, c9, d1, d2, d3, d4, d5\n', {
        'c1': 'money',
        'c2': 'number',
        'c3': 'ratio',
        'c4': 'money',
        'c5': 'ratio',
        'c6': 'number',
        'c7': 'date',
        'c8': 'int',
        'c9': 'months',
        'd1': 'int',
        'd2': 'int',
        'd3': 'date',
        'd4': 'date',
        'd5': 'int',
    }),
    ('aggregates', 'record I { amt: money  n: int  ok: bool }\ninput { items: list of I }\nrule s1 = sum(i.amt for i in items)\nrule s2 = sum(i.n for i in items where i.ok)\nrule s3 = count(i in items)\nrule s4 = any(i in items where i.ok)\nrule s5 = all(i in items where i.ok)\noutput s1, s2, s3, s4, s5\n', {
        's1': 'money',
        's2': 'int',
        's3': 'int',
        's4': 'bool',
        's5': 'bool',
    }),
    ('conditionals', 'input { a: money  c: bool }\nrule k1 = when c then 1 otherwise 2.5\nrule k2 = when c then 2.5 otherwise 1\nrule k3 = when c then a when not c then 0 yuan otherwise 1 yuan\nrule k4 = let b = a * 2 in b * 50%\nrule k5 = let b = 1 in b + 0.5\nrule k6 = when c then 1 when not c then 2.5 otherwise 3\nrule k7 = when c then 1 when not c then 2 otherwise 3\noutput k1, k2, k3, k4, k5, k6, k7\n', {
        'k6': 'number',
        'k7': 'int',
        'k1': 'number',
        'k2': 'number',
        'k3': 'money',
        'k4': 'money',
        'k5': 'number',
    }),
    ('tables and tiers', 'table t: int -> money { 1: 1 yuan  default: 0 yuan }\nenum Z { a, b }\ntable u: Z -> ratio { a: 1%  default: 2% }\ntiers s { from 0 yuan to 100 yuan: 50%  above 100 yuan: 60% }\ninput { a: money  i: int  x: Z }\nrule t1 = t[i]\nrule t2 = u[x]\nrule t3 = s(from 0 yuan to a)\nrule t4 = i in t\noutput t1, t2, t3, t4\n', {
        't1': 'money',
        't2': 'ratio',
        't3': 'money',
        't4': 'bool',
        't': 'table int -> money',
    }),
    ('records and enums', 'enum K { a, b }\nenum L { 1, 2 }\nenum E1 { x, y }\nenum E2 { x, z }\nenum E3 { y, z }\nrecord P { age: int  k: K }\ninput { p: P  l: L }\nrule e1 = p.age\nrule e2 = p.k\nrule e3 = K.a\nrule e4 = b\nrule e5 = p.k = a\nrule e6 = l = 2\nparam e7 = x\nparam e8 = y\nrule e9 = {a, b}\nrule f1 = {x, y}\noutput e1, e2, e5, e6\n', {
        'e1': 'int',
        'e2': 'K',
        'e3': 'K',
        'e4': 'K',
        'e5': 'bool',
        'e6': 'bool',
        'e7': 'E1',
        'e8': 'E1',
        'e9': 'set of K',
        'f1': 'set of E1',
    }),
    ('functions', 'function f(x: money, y: int): money = x * y\nfunction g(x: number): number = x\nenum L { 1, 2 }\nenum K { ka, kb }\nfunction h(x: L): int = 1\nfunction e(x: int): K = ka\ninput { a: money  l: L  i: int }\nrule u1 = f(a, 2)\nrule u2 = g(1) + h(2) + h(l) + h(i)\nrule u3 = f(a, 2) * 50%\nrule u4 = e(1)\noutput u1, u2, u3\n', {
        'u4': 'K',
        'e': 'K',
        'u1': 'money',
        'u2': 'number',
        'u3': 'money',
        'f': 'money',
        'g': 'number',
    }),
    ('params', 'enum K { ka, kb }\ninput { a: money }\nparam q6: K required\nparam q7: K = ka\nparam q0: money required\nparam q1 = 5\nparam q2 = 5 yuan\nparam q3: number = 5\nparam q4: percent = 5%\nparam q5 = -0.5\nrule r = a\noutput r\n', {
        'q0': 'money',
        'q6': 'K',
        'q7': 'K',
        'q1': 'int',
        'q2': 'money',
        'q3': 'number',
        'q4': 'ratio',
        'q5': 'number',
    }),
]


@pytest.mark.parametrize("text,expected", [pytest.param(text, expected, id=what) for what, text, expected in TYPES])
def test_inferred_types(text, expected):
    assert types_of(text, *expected) == expected


# ---- a bare-number param whose uses need a unit: one error at the param ----------------------
SLIPS = [
    ("money use", "input { a: money }\nparam p = 5\nrule r = a + p\noutput r\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "3:14-3:15")),
    ]),
    ("ratio use", "input { a: money }\nparam p = 5\nrule r: ratio = p\noutput r\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need a ratio: write `5%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "3:17-3:18")),
    ]),
    ("fraction for a ratio", "input { a: money }\nparam p = 0.05\nrule r = a * (1 - p)\nrule q: ratio = p\noutput r, q\n", [
        ("C203", "2:11-2:15", "param `p` is a number; its uses need a ratio: write `5%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "4:17-4:18")),
    ]),
    ("negative fraction", "input { a: money }\nparam p = -0.05\nrule q: ratio = p\noutput q\n", [
        ("C203", "2:11-2:16", "param `p` is a number; its uses need a ratio: write `-5%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "3:17-3:18")),
    ]),
    ("negated use", "input { a: money }\nparam p = -5\nrule q: ratio = -p\noutput q\n", [
        ("C203", "2:11-2:13", "param `p` is a number; its uses need a ratio: write `-5%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "3:17-3:19")),
    ]),
    ("fraction 1.5 for a ratio", "input { a: money }\nparam p = 1.5\nrule q: ratio = p\noutput q\n", [
        ("C203", "2:11-2:14", "param `p` is a number; its uses need a ratio: write `1.5%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "3:17-3:18")),
    ]),
    ("months use", "input { a: months }\nparam p = 3\nrule q = a + p\noutput q\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need months: write `3 months`",
         "a number has no unit: a number of months is written with `months`", ("used as months here", "p.policy", "3:14-3:15")),
    ]),
    ("a date moves by months", "input { a: date }\nparam p = 3\nrule q = a + p\nrule z = a - p\noutput q, z\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need months: write `3 months`",
         "a number has no unit: a number of months is written with `months`",
         ("used as months here", "p.policy", "3:14-3:15"), ("used as months here", "p.policy", "4:14-4:15")),
    ]),
    ("a date compared is no slip", "input { a: date }\nparam p = 3\nrule q = a < p\noutput q\n", [
        ("C203", "3:10-3:15", "cannot order date and int with `<`", "`<`, `<=`, `>`, `>=` compare two values of the same unit"),
    ]),
    ("uses needing two units", "input { a: money  m: months }\nparam p = 3\nrule q = a + p\nrule z = m + p\noutput q, z\n", [
        ("C203", "3:10-3:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
        ("C203", "4:10-4:15", "cannot add months and int", "write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`"),
    ]),
    ("one param needing two units, the next one", "input { a: money  m: months }\nparam p = 3\nparam q = 5\nrule x = a + p\nrule y = m + p\nrule z = a + q\noutput x, y, z\n", [
        ("C203", "3:11-3:12", "param `q` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "6:14-6:15")),
        ("C203", "4:10-4:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
        ("C203", "5:10-5:15", "cannot add months and int", "write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`"),
    ]),
    ("later branch", "input { a: money }\nparam p = 5\nrule r = when a > 1 yuan then a otherwise p\noutput r\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "3:43-3:44")),
    ]),
    ("earlier branch", "input { a: money }\nparam p = 5\nrule r = when a > 1 yuan then p otherwise a\noutput r\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "3:31-3:32")),
    ]),
    ("min and max", "input { a: money }\nparam p = 5\nrule r = min(p, a)\nrule q = max(a, p)\noutput r, q\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)",
         ("used as money here", "p.policy", "3:14-3:15"), ("used as money here", "p.policy", "4:17-4:18")),
    ]),
    ("order and equality", "input { a: money }\nparam p = 5\nrule r = a > p\nrule q = p = a\noutput r, q\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)",
         ("used as money here", "p.policy", "3:14-3:15"), ("used as money here", "p.policy", "4:10-4:11")),
    ]),
    ("declared param, function body, argument, row, default, round, tier", (
        "function f(x: money): money = x\nfunction g(x: int): money = p\n"
        "table t: int -> money { 1: p  default: 0 yuan }\ntiers s { from 0 yuan to p: 50%  above p: 60% }\n"
        "input { a: money  b: money = p }\nparam p = 5\nparam q: money = p\n"
        "rule r = f(p) + g(1) + t[1] + round(p, half_up) + s(from 0 yuan to a) + b + q\noutput r\n"), [
        ("C203", "6:11-6:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)",
         ("used as money here", "p.policy", "2:29-2:30"), ("used as money here", "p.policy", "3:28-3:29"),
         ("used as money here", "p.policy", "4:26-4:27"), ("used as money here", "p.policy", "4:40-4:41"),
         ("used as money here", "p.policy", "5:30-5:31"), ("used as money here", "p.policy", "7:18-7:19"),
         ("used as money here", "p.policy", "8:12-8:13"), ("used as money here", "p.policy", "8:37-8:38")),
    ]),
    ("a tier rate", "tiers s { from 0 yuan to 1 yuan: p  above 1 yuan: 60% }\ninput { a: money }\nparam p = 50\nrule r = s(from 0 yuan to a)\noutput r\n", [
        ("C203", "3:11-3:13", "param `p` is a number; its uses need a ratio: write `50%`",
         "a number has no unit: a percentage is written with `%`", ("used as a ratio here", "p.policy", "1:34-1:35")),
    ]),
    ("first of dated values", "policy \"x\" as of day\ninput { a: money  day: date }\nparam p = 5 from 2025-01-01 until 2025-12-31\nparam p = 6 from 2026-01-01\nrule r = a + p\noutput r\n", [
        ("C203", "3:11-3:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "5:14-5:15")),
    ]),
    ("not bare: one dated value has a unit", "policy \"x\" as of day\ninput { a: money  day: date }\nparam p = 5 from 2025-01-01 until 2025-12-31\nparam p = 6 yuan from 2026-01-01\nrule r = a + 1 yuan\noutput r\n", [
        ("C203", "4:11-4:17", "the dated values of `p` have different units: int and money", None),
    ]),
    ("not bare: declared int", "input { a: money }\nparam p: int = 5\nrule r = a + p\noutput r\n", [
        ("C203", "3:10-3:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
    ]),
    ("not bare: computed", "input { a: money }\nparam p = 2 + 3\nrule r = a + p\noutput r\n", [
        ("C203", "3:10-3:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
    ]),
    ("not bare: a rule", "input { a: money }\nrule k = 5\nrule r = a + k\noutput r\n", [
        ("C203", "3:10-3:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
    ]),
    ("not bare: negated expression", "input { a: money }\nparam p = -(2 + 3)\nrule r = a + p\noutput r\n", [
        ("C203", "3:10-3:15", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
    ]),
    ("a bool use is reported where it is", "input { c: bool }\nparam p = 5\nrule r = c and p\noutput r\n", [
        ("C203", "3:16-3:17", "each side of `and` must be bool, not int", None),
    ]),
    ("a use wanting one of several types", "input { a: money }\nparam p = 5\nrule r = round(p, half_up, 10 yuan)\noutput r\n", [
        ("C203", "3:16-3:17", "what `round` rounds must be money or ratio or number, not int", None),
    ]),
    ("negation of the use", "input { a: money }\nparam p = 5\nrule r = a + -p\noutput r\n", [
        ("C203", "2:11-2:12", "param `p` is a number; its uses need money: write `5 yuan`",
         "a number has no unit: an amount of money is written with `yuan` (or `元`)", ("used as money here", "p.policy", "3:14-3:16")),
    ]),
]


@pytest.mark.parametrize("text,expected", [pytest.param(text, expected, id=what) for what, text, expected in SLIPS])
def test_a_bare_number_param_is_reported_at_the_param(text, expected):
    assert found(text) == expected


# ---- floor / ceiling overrides (the parent's value is typed, judged in the parent) -----------
BASE = """policy "base"
input { a: money  d: date }
param rate = 50% floor
param cap = 100 yuan ceiling
param wait = 3 months floor
param n = 3 floor
param start = 2025-01-01 floor
param lim = 5
param top = lim + 1 yuan ceiling
param wrong = 1 yuan + 1% floor
rule r = a * rate
rule q = min(a, cap)
output r, q
"""


def child(tmp_path: Path, body: str) -> CheckEnv:
    (tmp_path / "base.policy").write_text(BASE, encoding="utf-8")
    return checked(f'policy "c" extends "base"\noverride param top = 6 yuan\noverride param wrong = 2 yuan\n{body}', root=tmp_path, name=str(tmp_path / "c.policy"))


@pytest.mark.parametrize(
    "body,expected",
    [
        pytest.param("override param rate = 60\n", [
            ("C203", "4:23-4:25", "param `rate` is a number; its uses need a ratio: write `60%`", "a number has no unit: a percentage is written with `%`",
             ("the value it overrides is a ratio here", "base.policy", "3:14-3:17")),
        ], id="ratio"),
        pytest.param("override param rate = 0.6\n", [
            ("C203", "4:23-4:26", "param `rate` is a number; its uses need a ratio: write `60%`", "a number has no unit: a percentage is written with `%`",
             ("the value it overrides is a ratio here", "base.policy", "3:14-3:17")),
        ], id="fraction"),
        pytest.param("override param cap = 60\n", [
            ("C203", "4:22-4:24", "param `cap` is a number; its uses need money: write `60 yuan`",
             "a number has no unit: an amount of money is written with `yuan` (or `元`)",
             ("used as money here", "base.policy", "12:17-12:20"), ("the value it overrides is money here", "base.policy", "4:13-4:21")),
        ], id="money, also used"),
        pytest.param("override param wait = 6\n", [
            ("C203", "4:23-4:24", "param `wait` is a number; its uses need months: write `6 months`",
             "a number has no unit: a number of months is written with `months`", ("the value it overrides is months here", "base.policy", "5:14-5:22")),
        ], id="months"),
        pytest.param("override param n = 6\noverride param start = 5\noverride param rate = 60%\n", [], id="int, date and a ratio with its unit"),
        pytest.param("override param rate = 60\nrule z = a + rate\noutput z\n", [
            ("C203", "5:10-5:18", "cannot add money and int", "write the number with its unit, e.g. `0 yuan`"),
        ], id="uses needing two units"),
    ],
)
def test_an_override_of_a_floor_or_ceiling(tmp_path, body, expected):
    env = child(tmp_path, body)
    assert rows(env) == expected
    assert ("rate" in env.ill_typed) == any("`rate` is a number" in row[2] for row in expected)


def test_the_parents_overridden_values_are_typed_but_not_reported(tmp_path):
    # `top = lim + 1 yuan` would make `lim` a slip and `wrong` is an error, both in the parent;
    # the child overrides them, so neither is the child's error
    env = child(tmp_path, "override param wait = 6 months\n")
    assert rows(env, None) == []
    assert env.ill_typed == set()
    parents = {parent.name: env.types[n.key(parent.value)] for _, parent in env.bounds}
    assert parents == {"top": t.ERROR, "wrong": t.ERROR, "wait": t.MONTHS}


# ---- what the pass records for the later passes --------------------------------------------
def test_a_table_of_an_unknown_type_has_no_type():
    env = checked("table t: int -> zzz { 1: 1 yuan }\ntable u: zzz -> money { 1: 1 yuan }\ntable v: int -> money { 1: 1 yuan }\ninput { a: int }\nrule r = t[a] + u[a] + v[a]\noutput r\n")
    assert (env.def_types["t"], env.def_types["u"], env.def_types["v"]) == (t.ERROR, t.ERROR, t.TableType(t.INT, t.MONEY))


def test_ill_typed_definitions_and_defaults():
    env = checked(
        "record R { x: money = 5%  y: money = 1 yuan }\n"
        "input { a: money  rr: R  b: money = 2%  c: money = 1 yuan }\n"
        "param p = 5\nparam good = 1 yuan\nparam bad: money = 5%\n"
        "table t: int -> money { 1: 1%  default: 0 yuan }\ntable u: int -> money { default: 0 yuan }\n"
        "rule uses_p = a + p\nrule also_p = a * 2 - p\nrule fine = a + good\nrule wrong = a + 1%\n"
        "output uses_p, also_p, fine, wrong\n"
    )
    assert env.ill_typed == {"R.x", "b", "p", "bad", "t", "uses_p", "also_p", "wrong"}


def test_a_cycle_has_no_type():
    env = checked("input { a: money }\nrule r = s + a\nrule s = r * 2\noutput r\n")
    assert rows(env) == []
    assert (env.def_types["r"], env.def_types["s"]) == (t.ERROR, t.ERROR)
    env = checked("input { a: money }\nrule r: money = s + a\nrule s: money = r\nparam p: money = q\nparam q: money = p\noutput r\n")
    assert rows(env) == []
    assert [env.def_types[name] for name in ("r", "s", "p", "q")] == [t.ERROR] * 4
    env = checked("input { a: int }\nfunction f(x: int): int = f(x)\nfunction g(x: int): number = x\nrule r = f(a) + g(a)\noutput r\n")
    assert (env.def_types["f"], env.def_types["g"]) == (t.ERROR, t.NUMBER)


def test_expression_types_field_indexes_and_table_names_are_recorded():
    env = checked(
        "record P { age: int  paid: money }\ntable t: int -> money { 1: 1 yuan  default: 0 yuan }\n"
        "input { p: P }\nrule r = p.paid + t[p.age]\noutput r\n"
    )
    body = env.variants["r"][0].body
    paid, index = body.left, body.right
    assert env.types[n.key(body)] == t.MONEY
    assert env.types[n.key(paid)] == t.MONEY and env.types[n.key(paid.obj)] == t.RecordType("P")
    assert env.field_index[n.key(paid)] == 1 and env.field_index[n.key(index.key)] == 0
    assert env.types[n.key(index.obj)] == t.TableType(t.INT, t.MONEY)
    assert env.types[n.key(index.key)] == t.INT


def test_enums_compare_with_ints_only_by_their_members():
    text = "enum L { 1, 2, 3 }\nenum K { a, b }\nenum M { 1, b }\ninput { l: L  k: K  m: M  i: int }\nrule r: bool = {}\noutput r\n"
    assert found(text.replace("{}", "l = 2 and l != i and 3 = l and i = l")) == []
    assert found(text.replace("{}", "l = 4")) == [("C203", "5:16-5:21", "cannot compare L with int", None)]
    assert found(text.replace("{}", "5 = l")) == [("C203", "5:16-5:21", "cannot compare int with L", None)]
    assert found(text.replace("{}", "k = i or K.a = i")) == [
        ("C203", "5:16-5:21", "cannot compare K with int", None),
        ("C203", "5:25-5:32", "cannot compare K with int", None),
    ]
    assert found(text.replace("{}", "m = i or m = 1")) == [("C203", "5:16-5:21", "cannot compare M with int", None)]
    assert found(text.replace("{}", "l = k")) == [("C203", "5:16-5:21", "cannot compare L with K", None)]
    assert found(text.replace("{}", "l = 2.5")) == [("C203", "5:16-5:23", "cannot compare L with number", None)]



# ---- the helpers other stages import -----------------------------------------------------------
def _literal(text: str):
    """The AST of the value of `param p = TEXT`."""
    return checked(f"input {{ a: money }}\nparam p = {text}\nrule r = a\noutput r\n").variants["p"][0].value


@pytest.mark.parametrize(
    "text,unit,expected",
    [
        ("5", t.RATIO, "5%"),
        ("0.05", t.RATIO, "5%"),
        ("0.125", t.RATIO, "12.5%"),
        ("-0.05", t.RATIO, "-5%"),
        ("-5", t.RATIO, "-5%"),
        ("1", t.RATIO, "1%"),
        ("1.0", t.RATIO, "1.0%"),
        ("0", t.RATIO, "0%"),
        ("0.0", t.RATIO, "0.0%"),
        ("-1", t.RATIO, "-1%"),
        ("0.5", t.MONEY, "0.5 yuan"),
        ("12", t.MONTHS, "12 months"),
        ("1_000", t.MONEY, "1_000 yuan"),
    ],
)
def test_with_unit_writes_the_number_with_its_unit(text, unit, expected):
    assert ty.with_unit(_literal(text), unit) == expected


def test_with_unit_of_a_literal_without_a_span():
    assert ty.with_unit(n.Literal("int", 7, span=None), t.MONEY) == "7 yuan"
    assert ty.with_unit(n.Literal("number", Decimal("0.07"), span=None), t.RATIO) == "7%"


def test_limit_value_and_pairs():
    env = checked("input { a: int in -5..10  b: money >= 1 yuan  c: date < 2025-01-01  d: ratio <= 50%  e: number > -1.5 }\nrule r = a\noutput r\n")
    fields = {f.name: f for f in env.input.fields}
    assert ty.limit_pairs(fields["a"]) == ((">=", -5), ("<=", 10))
    assert ty.limit_pairs(fields["b"]) == ((">=", Decimal(1)),)
    assert ty.limit_pairs(fields["c"])[0][0] == "<" and str(ty.limit_pairs(fields["c"])[0][1]) == "2025-01-01"
    assert ty.limit_pairs(fields["d"]) == (("<=", Decimal("0.5")),)
    assert ty.limit_pairs(fields["e"]) == ((">", Decimal("-1.5")),)
    assert ty.limit_value(n.Literal("bool", True, span=None)) is None
    assert ty.limit_value(n.Literal("text", "x", span=None)) is None
    assert ty.limit_value(n.Unary("-", n.Literal("bool", True, span=None), span=None)) is None
    assert ty.limit_value(n.Unary("-", n.Literal("text", "x", span=None), span=None)) is None
    assert ty.limit_value(n.Unary("not", n.Literal("int", 3, span=None), span=None)) is None
    assert ty.limit_value(n.Unary("-", n.Name("x", span=None), span=None)) is None
    assert ty.limit_value(n.Name("x", span=None)) is None
    assert ty.limit_value(n.Unary("-", n.Literal("int", 3, span=None), span=None)) == -3
    assert ty.limit_value(n.Unary("-", n.Literal("number", Decimal("2.5"), span=None), span=None)) == Decimal("-2.5")


@pytest.mark.parametrize(
    "pairs,value,expected",
    [
        (((">=", 1),), 1, True),
        (((">=", 1),), 0, False),
        (((">", 1),), 1, False),
        (((">", 1),), 2, True),
        ((("<=", 1),), 1, True),
        ((("<=", 1),), 2, False),
        ((("<", 1),), 1, False),
        ((("<", 1),), 0, True),
        (((">=", 0), ("<=", 10)), 10, True),
        (((">=", 0), ("<=", 10)), 11, False),
        (((">=", 0), ("<=", 10)), -1, False),
        ((), 5, True),
    ],
)
def test_limits_hold(pairs, value, expected):
    assert ty.limits_hold(pairs, value) is expected


def test_literal_type_of_a_bound():
    assert ty._literal_type(n.Literal("money", Decimal(1), span=None)) == t.MONEY
    assert ty._literal_type(n.Unary("-", n.Literal("months", 3, span=None), span=None)) == t.MONTHS
    assert ty._literal_type(n.Literal("percent", Decimal(1), span=None)) == t.RATIO
    assert ty._literal_type(n.Literal("furlongs", 1, span=None)) == t.NUMBER
    assert ty._literal_type(n.Name("x", span=None)) is None


def test_numeric_sides():
    left, right = n.Name("l", span=None), n.Name("r", span=None)
    assert ty._numeric_sides(((left, t.MONEY), (right, t.INT))) == [(right, t.MONEY)]
    assert ty._numeric_sides(((left, t.NUMBER), (right, t.RATIO))) == [(left, t.RATIO)]
    assert ty._numeric_sides(((left, t.INT), (right, t.NUMBER))) == [(right, t.INT), (left, t.NUMBER)]
    assert ty._numeric_sides(((left, t.DATE), (right, t.INT))) == [(right, t.DATE)]
    assert ty._numeric_sides(((left, t.DATE), (right, t.INT)), dates_move_by_months=True) == [(right, t.MONTHS)]
    assert ty._numeric_sides(((left, t.INT), (right, t.DATE)), dates_move_by_months=True) == [(left, t.MONTHS)]
    assert ty._numeric_sides(((left, t.INT), (right, t.MONEY)), dates_move_by_months=True) == [(left, t.MONEY)]
    assert ty._numeric_sides(((left, t.TEXT), (right, t.MONEY))) == []


def test_is_bare_number():
    env = checked(
        "policy \"x\" as of day\ninput { a: money  day: date }\n"
        "param p1 = 5\nparam p2 = -0.5\nparam p3 = 5 yuan\nparam p4: int = 5\nparam p5 = 2 + 3\nparam p6 = true\n"
        "param p7 = 5 from 2025-01-01 until 2025-12-31\nparam p7 = 6 from 2026-01-01\n"
        "param p8 = 5 from 2025-01-01 until 2025-12-31\nparam p8: int = 6 from 2026-01-01\n"
        "param p9 = -(2)\nparam q1 = -p1\nrule k = 5\n"
        "rule r = a * p1 * p2 * p4 * p5 * p7 * p8 * p9 * q1 * k\nrule s = p6 and p3 > a\noutput r, s\n"
    )
    bare = {name for name in ("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "q1", "zz") if ty.is_bare_number(env, name)}
    assert bare == {"p1", "p2", "p7", "p9"}
    assert ty._int_is_number(t.NUMBER, t.INT) and not ty._int_is_number(t.INT, t.NUMBER) and not ty._int_is_number(t.NUMBER, t.NUMBER)


def test_describe_is_the_type_text():
    assert ty._describe(t.ListType(t.MONEY)) == "list of money"


# ---- types.py ----------------------------------------------------------------------------------
def test_type_texts():
    assert [str(x) for x in (t.MONEY, t.RATIO, t.INT, t.NUMBER, t.BOOL, t.DATE, t.MONTHS, t.TEXT)] == [
        "money", "ratio", "int", "number", "bool", "date", "months", "text"]
    assert str(t.EnumType("Level", (1, 2))) == "Level"
    assert str(t.MemberType("x", frozenset({"E2", "E1"}))) == "member `x` of E1 or E2"
    assert str(t.MemberType(3, frozenset({"L"}))) == "member `3` of L"
    assert str(t.RecordType("Item")) == "Item"
    assert str(t.ListType(t.ListType(t.INT))) == "list of list of int"
    assert str(t.SetType(t.MONEY)) == "set of money"
    assert str(t.TableType(t.INT, t.RATIO)) == "table int -> ratio"
    assert str(t.TiersType()) == "tier schedule"
    assert str(t.ERROR) == "<error>"
    assert t.BUILTIN_TYPES["percent"] is t.RATIO


def _expected_table():
    M, R, I, X, D, MO = t.MONEY, t.RATIO, t.INT, t.NUMBER, t.DATE, t.MONTHS
    table = {}
    for op in "+-":
        table.update({(op, M, M): M, (op, R, R): R, (op, I, I): I, (op, MO, MO): MO,
                      (op, I, X): X, (op, X, I): X, (op, X, X): X, (op, D, MO): D})
    table[("+", MO, D)] = D
    table.update({("*", I, I): I, ("*", I, X): X, ("*", X, I): X, ("*", X, X): X,
                  ("/", I, I): X, ("/", I, X): X, ("/", X, I): X, ("/", X, X): X})
    for scale in (R, I, X):
        table.update({("*", M, scale): M, ("*", scale, M): M, ("/", M, scale): M})
    for scale in (R, I, X):
        table.update({("*", R, scale): R, ("*", scale, R): R, ("/", R, scale): R})
    table.update({("*", MO, I): MO, ("*", I, MO): MO, ("/", M, M): X})
    return table


def test_the_arithmetic_table():
    # built afresh: the module's ARITHMETIC is built once, at import
    assert t._arith_table() == _expected_table()
    assert t.ARITHMETIC == _expected_table()


@pytest.mark.parametrize(
    "op,left,right,expected",
    [
        ("+", t.MONEY, t.RATIO, "a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios"),
        ("-", t.RATIO, t.MONEY, "a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios"),
        ("*", t.MONEY, t.RATIO, None),
        ("+", t.MONEY, t.INT, "write the number with its unit, e.g. `0 yuan`"),
        ("-", t.NUMBER, t.MONEY, "write the number with its unit, e.g. `0 yuan`"),
        ("/", t.MONEY, t.INT, None),
        ("-", t.MONTHS, t.INT, "write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`"),
        ("+", t.INT, t.MONTHS, "write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`"),
        ("*", t.MONTHS, t.INT, None),
        ("+", t.MONTHS, t.NUMBER, None),
        ("+", t.DATE, t.INT, "dates move by months: `date + 3 months`"),
        ("-", t.DATE, t.DATE, "dates move by months: `date + 3 months`"),
        ("-", t.MONEY, t.DATE, "dates move by months: `date + 3 months`"),
        ("*", t.DATE, t.INT, None),
        ("+", t.MONEY, t.MONTHS, None),
        ("+", t.TEXT, t.TEXT, None),
    ],
)
def test_arithmetic_hint(op, left, right, expected):
    assert t.arithmetic_hint(op, left, right) == expected


def test_unify():
    E = t.EnumType("E", ("x", "y"))
    both = t.MemberType("x", frozenset({"E", "F"}))
    assert t.unify(t.MONEY, t.MONEY) == t.MONEY
    assert t.unify(t.ERROR, t.MONEY) is t.ERROR and t.unify(t.MONEY, t.ERROR) is t.ERROR
    assert t.unify(t.INT, t.NUMBER) == t.NUMBER and t.unify(t.NUMBER, t.INT) == t.NUMBER
    assert t.unify(t.INT, t.MONEY) is None and t.unify(t.MONEY, t.INT) is None and t.unify(t.MONEY, t.RATIO) is None
    assert t.unify(E, both) == E and t.unify(both, E) == E
    assert t.unify(E, t.MemberType("x", frozenset({"F", "G"}))) is None
    assert t.unify(t.MemberType("x", frozenset({"F", "G"})), E) is None
    assert t.unify(E, t.EnumType("F", ())) is None
    assert t.unify(both, t.MemberType("y", frozenset({"F", "G"}))) == t.MemberType("x", frozenset({"F"}))
    assert t.unify(t.MemberType("y", frozenset({"F", "G"})), both) == t.MemberType("y", frozenset({"F"}))
    assert t.unify(both, t.MemberType("y", frozenset({"G"}))) is None
    assert t.unify(t.SetType(t.INT), t.SetType(t.NUMBER)) == t.SetType(t.NUMBER)
    assert t.unify(t.SetType(t.INT), t.SetType(t.MONEY)) is None
    assert t.unify(t.SetType(t.INT), t.INT) is None and t.unify(t.INT, t.SetType(t.INT)) is None
    assert t.unify(t.ListType(t.INT), t.ListType(t.NUMBER)) is None
    assert t.unify(t.SetType(E), t.SetType(both)) == t.SetType(E)


# ---- regression: a field's default checked against its limits --------------------------------
def test_a_default_against_the_limits_negated_or_of_another_type():
    # a negated default (`= -1`) was not checked against the limits; a default of another type
    # (`= "x"` for an int, `= 5` for a date) crashed the checker (TypeError comparing it with
    # the bounds) instead of being the C203 it is
    assert found("input { a: int in 0..10 = -1  b: money in 0 yuan..1 yuan = -(1 yuan)  c: int in -5..-1 = -1 }\nrule r = a\noutput r\n") == [
        ("C267", "1:27-1:29", "the default of `a` is outside its limits", None),
        ("C267", "1:60-1:69", "the default of `b` is outside its limits", None),
    ]
    assert found('input { a: date >= 2025-01-01 = 5  b: int in 0..10 = "x"  c: number in 0..10 = 1.5  d: number in 0..10 = 11 }\nrule r = a\noutput r\n') == [
        ("C203", "1:33-1:34", "field `a` is date but its default is int", "dates move by months: `date + 3 months`"),
        ("C203", "1:54-1:57", "field `b` is int but its default is text", None),
        ("C267", "1:106-1:108", "the default of `d` is outside its limits", None),
    ]


# ---- regression: a function's argument must be of its parameter's type -------------------------
def test_a_number_is_no_argument_for_an_int_parameter():
    # `comparable` (an int for an enum of whole numbers) accepted any pair that unifies, so
    # `f(1.5)` passed for `x: int`, and an int rule gave Decimal('3.0')
    text = (
        "function f(x: int): int = x * 2\nenum L { 1, 2 }\nfunction h(x: L): int = 1\nfunction g(x: int): int = x\n"
        "function k(x: number): number = x\ninput { l: L }\nrule r = f(1.5) + h(1) + h(3) + g(l) + k(1) + f(2)\noutput r\n"
    )
    assert found(text) == [
        ("C203", "7:12-7:15", "parameter `x` of `f` is int, not number", None),
        ("C203", "7:28-7:29", "parameter `x` of `h` is L, not int", None),
    ]
