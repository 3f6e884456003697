"""Safe formulas: arithmetic over metric names, parsed with ``ast`` and evaluated by walking a
whitelist of nodes, one org at a time or over arrays of every org; never ``eval``.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt


class FormulaError(ValueError):
    """An expression that is not allowed, or cannot be evaluated."""


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}
#: (fewest, most) arguments of each function.
_ARITY: dict[str, tuple[int, int]] = {"min": (2, 99), "max": (2, 99), "abs": (1, 1),
                                      "round": (1, 2)}


class SafeFormula:
    """Arithmetic over metric names: + − × ÷, comparisons, ``a if c else b``, min/max/abs/round.

    Parsed with ``ast`` and evaluated by walking a whitelist of nodes; never ``eval``.
    """

    #: Longer formulas are refused (nesting that deep would exhaust the parser's stack).
    MAX_LENGTH = 1000

    def __init__(self, expression: str) -> None:
        if len(expression) > self.MAX_LENGTH:
            raise FormulaError(f"公式过长（超过{self.MAX_LENGTH}个字符），请拆成几个数据项")
        try:
            tree = ast.parse(expression, mode="eval")
            self.expression = expression
            self.names: set[str] = set()
            self._check(tree.body)
            self._tree = tree.body
            self._compiled: Evaluator | None = None
            self._vector: VectorEvaluator = _vector_closure(self._tree)
        except SyntaxError as exc:
            raise FormulaError(f"公式语法错误：{expression}") from exc
        except (RecursionError, MemoryError) as exc:
            raise FormulaError("公式嵌套过深，请简化") from exc

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise FormulaError(f"公式中只能用数字常量：{ast.unparse(node)}")
        elif isinstance(node, ast.Name):
            self.names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise FormulaError(f"公式中不允许的运算：{ast.unparse(node)}")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise FormulaError(f"公式中不允许的运算：{ast.unparse(node)}")
            self._check(node.operand)
        elif isinstance(node, ast.Compare):
            if any(type(op) not in _COMPARE for op in node.ops):
                raise FormulaError(f"公式中不允许的比较：{ast.unparse(node)}")
            for child in (node.left, *node.comparators):
                self._check(child)
        elif isinstance(node, ast.BoolOp):
            for child in node.values:
                self._check(child)
        elif isinstance(node, ast.IfExp):
            for child in (node.test, node.body, node.orelse):
                self._check(child)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS \
                    or node.keywords:
                raise FormulaError(
                    f"公式中只能调用 min、max、abs、round：{ast.unparse(node)}"
                )
            low, high = _ARITY[node.func.id]
            if not low <= len(node.args) <= high or any(
                    isinstance(a, ast.Starred) for a in node.args):
                raise FormulaError(f"{node.func.id} 的参数个数不对：{ast.unparse(node)}")
            if node.func.id == "round" and len(node.args) == 2 and not (
                    isinstance(node.args[1], ast.Constant) and type(node.args[1].value) is int):
                raise FormulaError(f"round 的小数位数必须是整数常量：{ast.unparse(node)}")
            for arg in node.args:
                self._check(arg)
        else:
            raise FormulaError(f"公式中不允许的写法：{ast.unparse(node)}")

    @staticmethod
    @lru_cache(maxsize=4096)
    def compiled(expression: str) -> SafeFormula:
        """The parsed formula for ``expression`` (parsed once per process)."""
        return SafeFormula(expression)

    def evaluate(self, values: Mapping[str, float]) -> float:
        if self._compiled is None:
            self._compiled = _closure(self._tree)
        return float(self._compiled(values))

    def vector(self) -> VectorEvaluator:
        """The formula over arrays, one element per org: the same arithmetic as :meth:`evaluate`.

        The evaluator marks in ``faults`` every element where a division by zero happened;
        those orgs are scored one by one, which reports the error as :meth:`evaluate` does.
        """
        return self._vector


Evaluator = Callable[[Mapping[str, float]], Any]
#: One number per org (scoring works on these too).
Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
VectorEvaluator = Callable[[Mapping[str, Array], Mask], Any]


def _closure(node: ast.AST) -> Evaluator:
    """Turn a checked expression tree into nested closures (evaluated without ``eval``)."""
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda values: constant
    if isinstance(node, ast.Name):
        name = node.id
        return lambda values: values[name]
    if isinstance(node, ast.BinOp):
        left, right = _closure(node.left), _closure(node.right)
        if isinstance(node.op, ast.Div):
            def divide(values: Mapping[str, float]) -> Any:
                denominator = right(values)
                if denominator == 0:
                    raise FormulaError("除数为0")
                return left(values) / denominator
            return divide
        op = _BINARY[type(node.op)]
        return lambda values: op(left(values), right(values))
    if isinstance(node, ast.UnaryOp):
        operand = _closure(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda values: -operand(values)
        return operand
    if isinstance(node, ast.Compare):
        first = _closure(node.left)
        pairs = [(_COMPARE[type(op)], _closure(c)) for op, c in zip(node.ops, node.comparators,
                                                                     strict=True)]

        def compare(values: Mapping[str, float]) -> bool:
            left = first(values)
            for op, right_fn in pairs:
                right = right_fn(values)
                if not op(left, right):
                    return False
                left = right
            return True
        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_closure(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: all(p(values) for p in parts)
        return lambda values: any(p(values) for p in parts)
    if isinstance(node, ast.IfExp):
        test, body, orelse = _closure(node.test), _closure(node.body), _closure(node.orelse)
        return lambda values: body(values) if test(values) else orelse(values)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        function = _FUNCTIONS[node.func.id]
        args = [_closure(a) for a in node.args]
        return lambda values: function(*(a(values) for a in args))
    raise FormulaError("公式无法计算")  # unreachable: _check admits nothing else


def _elementwise_round(args: list[Any]) -> Any:
    """Python's ``round`` on every element (NumPy's rounding differs in the last digit)."""
    digits = args[1] if len(args) > 1 else None
    values = np.asarray(args[0], dtype=np.float64)
    out = [float(round(v, digits)) if math.isfinite(v) else v for v in values.ravel().tolist()]
    return np.array(out, dtype=np.float64).reshape(values.shape)


_VECTOR_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "min": lambda args: functools.reduce(np.minimum, args),
    "max": lambda args: functools.reduce(np.maximum, args),
    "abs": lambda args: np.abs(args[0]),
    "round": _elementwise_round,
}


def _truth(value: Any) -> Any:
    return np.asarray(value) != 0


def _vector_closure(node: ast.AST) -> VectorEvaluator:
    """The array twin of :func:`_closure`: the same arithmetic, element by element."""
    if isinstance(node, ast.Constant):
        constant = node.value
        return lambda values, faults: constant
    if isinstance(node, ast.Name):
        name = node.id
        return lambda values, faults: values[name]
    if isinstance(node, ast.BinOp):
        left, right = _vector_closure(node.left), _vector_closure(node.right)
        if isinstance(node.op, ast.Div):
            def divide(values: Mapping[str, Array], faults: Mask) -> Any:
                denominator = right(values, faults)
                faults |= np.broadcast_to(np.asarray(denominator) == 0, faults.shape)
                return np.divide(left(values, faults), denominator)
            return divide
        op = _BINARY[type(node.op)]
        return lambda values, faults: op(left(values, faults), right(values, faults))
    if isinstance(node, ast.UnaryOp):
        operand = _vector_closure(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda values, faults: np.negative(operand(values, faults))
        return operand
    if isinstance(node, ast.Compare):
        first = _vector_closure(node.left)
        pairs = [(_COMPARE[type(op)], _vector_closure(c))
                 for op, c in zip(node.ops, node.comparators, strict=True)]

        def compare(values: Mapping[str, Array], faults: Mask) -> Any:
            left = first(values, faults)
            result: Any = True
            for op, right_fn in pairs:
                right = right_fn(values, faults)
                result = np.logical_and(result, op(left, right))
                left = right
            return np.asarray(result, dtype=np.float64)
        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_vector_closure(v) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolean(values: Mapping[str, Array], faults: Mask) -> Any:
            truths = [_truth(p(values, faults)) for p in parts]
            return np.asarray(functools.reduce(combine, truths), dtype=np.float64)
        return boolean
    if isinstance(node, ast.IfExp):
        test = _vector_closure(node.test)
        body, orelse = _vector_closure(node.body), _vector_closure(node.orelse)
        return lambda values, faults: np.where(_truth(test(values, faults)), body(values, faults),
                                               orelse(values, faults))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        function = _VECTOR_FUNCTIONS[node.func.id]
        args = [_vector_closure(a) for a in node.args]
        return lambda values, faults: function([a(values, faults) for a in args])
    raise FormulaError("公式无法计算")  # unreachable: _check admits nothing else

