"""The display-filter grammar (lark, LALR) and the syntax tree it produces.

Like Wireshark's scanner, one token class covers field names and unquoted values
(`tcp.port`, `10.0.0.0/8`, `00:1b:21`, `fe80::1`, `0x1f`, `1..5`): which one a word
is, and what value it spells, depends on the field it is compared with, so the
compiler decides (`_compile`). Quoted strings, slices (`[0:3]`, `[1-2,4]`) and sets
(`{80 443 8000..8080}`) are their own tokens or rules. `not` binds tightest, then
`and`, `xor`, `or`, as in Wireshark.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GRAMMAR = r"""
?start: expr

?expr: expr ("or" | "||") xexpr   -> or_
     | xexpr
?xexpr: xexpr ("xor" | "^^") aexpr -> xor_
      | aexpr
?aexpr: aexpr ("and" | "&&") nexpr -> and_
      | nexpr
?nexpr: ("not" | "!") nexpr       -> not_
      | "(" expr ")"
      | test

test: operand                          -> presence
    | operand CMP operand              -> compare
    | operand ("contains") operand     -> contains
    | operand ("matches" | "~") operand -> matches
    | operand "in" set                 -> in_
    | operand "not" "in" set           -> not_in
    | operand "&" operand              -> bitand

CMP: "===" | "!==" | "==" | "!=" | "~=" | "<=" | ">=" | "<" | ">"
   | "eq" | "ne" | "lt" | "le" | "gt" | "ge"
   | "any_eq" | "all_eq" | "any_ne" | "all_ne"

operand: WORD SLICE?    -> word
       | STRING         -> string

set: "{" (item ","?)* "}"
?item: WORD | STRING

// a keyword is never a word (so `tcp and and udp` fails at the second `and`)
WORD: /(?!(and|or|xor|not|in|contains|matches|eq|ne|lt|le|gt|ge|any_eq|all_eq|any_ne|all_ne)(?![A-Za-z0-9_.:\/-]))([A-Za-z0-9_][A-Za-z0-9_.:\/-]*|[.:-][A-Za-z0-9_.:\/-]+)/
STRING.2: /r?"(\\.|[^"\\])*"/
SLICE: /\[[^\]]*\]/

%import common.WS
%ignore WS
"""

_PARSER: Any = None


def parser() -> Any:
    """The LALR parser (built once per process)."""
    global _PARSER
    if _PARSER is None:
        from lark import Lark
        _PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
    return _PARSER


def parse(expression: str) -> Any:
    """The lark tree of `expression`; lark's exceptions pass through (the compiler turns
    them into DisplayFilterError with a column)."""
    return parser().parse(expression)
