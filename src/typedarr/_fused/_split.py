"""A big compiled program cut into pieces: several kernels called in turn, each cached alone.

numba's compile time grows faster than the size of the function it compiles (its parallel
passes most of all), so a whole training step of a CNN as one function, a hundred and more
loop nests, takes minutes to compile where the same nests in a few functions take seconds.
A program with more than `MAX_NESTS` loop nests is therefore cut between nests: its stored
(materialised) instructions, in dependency order, go to consecutive pieces of at most
`MAX_NESTS` nests, and under `Par` a nest big enough for threads never shares a piece with
one that is not: numba's parallel compile, the slowest by far, is then paid only for the few
nests that use it (the convolutions), and a piece of one convolution is the same kernel in
every layer. A piece's kernel reads the traced function's inputs and the stored values
of earlier pieces that it needs, and writes the stored values that later pieces read and the
program's results. Nothing is stored that the single kernel would not store, so the values
are the same; each piece is a kernel of its own structure, cached in memory and on disk, and
each chooses `Seq` or `Par` by its own size (a dense layer's nests do not pay for threads).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._ir import Node, Op, Structural, input_, substitute
from ._layout import analyse
from ._plan import Plan, node_work

# The most loop nests one kernel of a compiled program holds (a convolution's nests count
# as `CONVOLUTION_NESTS` each: they are several loop nests deep in the generated source).
MAX_NESTS = 16
CONVOLUTION_NESTS = 4
_CONVOLUTIONS = frozenset({Structural.CONV2D, Structural.CONV2D_GRAD_INPUT,
                           Structural.CONV2D_GRAD_WEIGHT})


@dataclass(frozen=True, slots=True)
class ProgramInput:
    """A piece's input that is the program's `slot`-th input array."""

    slot: int


@dataclass(frozen=True, slots=True)
class Computed:
    """A piece's input that an earlier piece computed: the program's instruction `instr`."""

    instr: int


Source = ProgramInput | Computed


@dataclass(frozen=True, slots=True)
class Piece:
    """One kernel of a cut program: `roots` over `inputs` (fresh INPUT nodes), which take, in
    order, the values named by `sources`. `writes` names the instruction each of its roots
    computes; `threads`, whether its nests are big enough for threads."""

    roots: tuple[Node, ...]
    inputs: tuple[Node, ...]
    sources: tuple[Source, ...]
    writes: tuple[int, ...]
    threads: bool


def split(plan: Plan, ninputs: int, par_threshold: int | None) -> list[Piece] | None:
    """The pieces of `plan`'s program (made with `ninputs` INPUT nodes), or None when it is
    small enough to be one kernel. `par_threshold`: under `Par`, the work from which a nest
    runs on threads (None under `Seq`)."""
    program = plan.program
    instrs = program.instrs
    stored = analyse(program).materialised
    if sum(_weight(instrs[k].op) for k in stored) <= MAX_NESTS:
        return None
    piece_of: dict[int, int] = {}
    threads: list[bool] = []
    weight = 0
    for k in stored:
        w = _weight(instrs[k].op)
        big = par_threshold is not None and _threaded(plan.nodes[k], par_threshold)
        if not threads or weight + w > MAX_NESTS or big != threads[-1]:
            threads.append(big)
            weight = 0
        piece_of[k], weight = len(threads) - 1, weight + w
    reads = [_reads(plan, ninputs, piece_of, q) for q in range(len(threads))]
    needed = set(program.outputs).union(*reads)
    return [_piece(plan, [k for k in stored if piece_of[k] == q and k in needed], reads[q],
                   big) for q, big in enumerate(threads)]


def _threaded(node: Node, par_threshold: int) -> bool:
    """Whether `node`'s nest is big enough for threads (a product's BLAS has its own)."""
    return node.op is not Structural.MATMUL and node_work(node) >= par_threshold


def _weight(op: Op) -> int:
    return CONVOLUTION_NESTS if op in _CONVOLUTIONS else 1


def _reads(plan: Plan, ninputs: int, piece_of: dict[int, int], q: int) -> set[int]:
    """The instructions piece `q` reads from outside: inputs and earlier pieces' values.

    A nest computes every instruction that is not stored inline, so the walk goes through
    those down to stored instructions and leaves.
    """
    instrs = plan.program.instrs
    found: set[int] = set()
    seen: set[int] = set()
    stack = [s for k, p in piece_of.items() if p == q for s in instrs[k].src]
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        ins = instrs[j]
        if j in piece_of:
            if piece_of[j] < q:
                found.add(j)
        elif ins.op is Structural.LEAF:
            if isinstance(ins.arg, int) and ins.arg < ninputs:
                found.add(j)
        else:
            stack.extend(ins.src)
    return found


def _piece(plan: Plan, writes: list[int], reads: set[int], threads: bool) -> Piece:
    nodes = plan.nodes
    order = sorted(reads)
    fresh = [input_(slot, nodes[j].shape, nodes[j].dtype) for slot, j in enumerate(order)]
    replace = {id(nodes[j]): node for j, node in zip(order, fresh, strict=True)}
    sources = tuple(ProgramInput(nodes[j].arg) if nodes[j].op is Structural.INPUT
                    else Computed(j) for j in order)
    roots = substitute(tuple(nodes[k] for k in writes), replace)
    return Piece(roots, tuple(fresh), sources, tuple(writes), threads)
