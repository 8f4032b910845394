"""Kernel source for convolution and pooling: the loop nests `_codegen` emits for them.

A convolution is lowered to matrix products (im2col): generated loops copy the windows a
block of samples reads into the columns of a `(C*KH*KW, samples*H'*W')` matrix (split over
the block's samples under `Par`), and one `np.dot` (BLAS) multiplies them by the weights;
the product's rows are then copied to their samples' places in the `(N, O, H', W')` result.
The gradients are the same products transposed: the weights' gradient accumulates
`dy_block @ columns.T` over blocks, the input's gradient computes `weights.T @ dy_block` and
adds the columns back onto the windows they came from (col2im).

How big a block is, is a matter of BLAS threads. A product that OpenBLAS splits over threads
wakes them and waits for them; many small such products (one per sample) are slow, and
very slow when other thread pools compete for the cores (numpy's own OpenBLAS, numba's,
another process's). So such products span blocks of many samples. A product that OpenBLAS
runs on one thread anyway is done per sample, written straight into that sample's slice of
the result: no copies, the least work. BLAS is called outside `prange` only: OpenBLAS called
from OpenMP threads warns that it may hang. Pooling is generated loops.

Stride, padding and window size are literals of the source (part of the kernel's structural
key). A padded input is copied into a zero-bordered buffer first, so that every window lies
inside what the loops read, and the loops all start at 0: the compiler then knows that no
index is negative, drops numba's wraparound checks and vectorises the copies (several times
faster than loops with computed bounds; the same holds for indices derived by `//` and `%`,
which is why samples and channels are nested loops, not one flattened loop).

Every function returns the lines of one nest, reading its stored sources by name and
writing `out`; local names end in `_` and the instruction's number `k` (`cols_3`), which no
other name in a kernel does, so nests never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

# Floats of im2col columns per block of samples, for products BLAS runs on several threads.
BLOCK = 1 << 20
# Multiply-adds of a product OpenBLAS runs on one thread (its GEMM_MULTITHREAD_THRESHOLD
# default): no threads to wake, so one product per sample costs nothing extra.
SMALL = 1 << 18


def conv2d(k: int, x: str, w: str, out: str, dt: str, stride: int, padding: int
           ) -> list[str]:
    """`out (N, O, H', W')`: the cross-correlation of `x (N, C, H, W)` with `w (O, C, KH, KW)`."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {w}.shape[0], {w}.shape[2], {w}.shape[3]",
        f"Ho_{k}, Wo_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k, dt),
        *_padded(k, x, dt, padding),
        f"w2_{k} = np.ascontiguousarray({w}).reshape(O_{k}, K_{k})",
        f"outf_{k} = {out}.reshape(N_{k}, O_{k}, HW_{k})",
        *_blocks(k, dt, partial(_im2col, k, f"xp_{k}" if padding else x, stride), [
            f"for m_{k} in range(nb_{k}):",
            f"    np.dot(w2_{k}, cols3_{k}[m_{k}], outf_{k}[n0_{k} + m_{k}])",
        ], [
            f"res_{k} = np.dot(w2_{k}, cols_{k})",
            *_per_sample(k, f"outf_{k}[n0_{k} + m_{k}, o_{k}] = res_{k}[o_{k}, {_sample(k)}]"),
        ]),
    ]


def conv2d_grad_weight(k: int, x: str, dy: str, out: str, dt: str, stride: int,
                       padding: int) -> list[str]:
    """`out (O, C, KH, KW)`: the sum over samples and positions of `dy` times the window."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {out}.shape[0], {out}.shape[2], {out}.shape[3]",
        f"Ho_{k}, Wo_{k} = {dy}.shape[2], {dy}.shape[3]",
        *_sizes(k, dt),
        *_padded(k, x, dt, padding),
        f"dyf_{k} = np.ascontiguousarray({dy}).reshape(N_{k}, O_{k}, HW_{k})",
        f"acc_{k} = np.zeros((O_{k}, K_{k}), {dt})",
        *_blocks(k, dt, partial(_im2col, k, f"xp_{k}" if padding else x, stride), [
            f"for m_{k} in range(nb_{k}):",
            f"    acc_{k} += np.dot(dyf_{k}[n0_{k} + m_{k}], cols3_{k}[m_{k}].T)",
        ], [
            *_gather(k, dt),
            f"acc_{k} += np.dot(dyb_{k}, cols_{k}.T)",
        ]),
        f"{out}[...] = acc_{k}.reshape(O_{k}, C_{k}, KH_{k}, KW_{k})",
    ]


def conv2d_grad_input(k: int, dy: str, w: str, out: str, dt: str, stride: int,
                      padding: int) -> list[str]:
    """`out (N, C, H, W)`: each output's gradient spread back over its window (col2im), into
    a padded buffer first when there is padding."""
    p = padding
    dx = f"dxp_{k}" if p else out
    at = f"{_at('i', k, stride, 'a')}, {_at('j', k, stride, 'b')}"

    def col2im(column: str) -> list[str]:
        return [f"for m_{k} in prange(nb_{k}):",
                f"    for c_{k} in range(C_{k}):",
                f"        for h_{k} in range({dx}.shape[2]):",
                f"            for w_{k} in range({dx}.shape[3]):",
                f"                {dx}[n0_{k} + m_{k}, c_{k}, h_{k}, w_{k}] = 0",
                f"    for c_{k} in range(C_{k}):",
                *("        " + line for line in _window_loops(
                    k, [f"{dx}[n0_{k} + m_{k}, c_{k}, {at}] += {column}"]))]

    return [
        f"N_{k}, O_{k}, Ho_{k}, Wo_{k} = {dy}.shape",
        f"C_{k}, KH_{k}, KW_{k} = {w}.shape[1], {w}.shape[2], {w}.shape[3]",
        f"H_{k}, W_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k, dt),
        *([f"{dx} = np.empty((N_{k}, C_{k}, H_{k} + {2 * p}, W_{k} + {2 * p}), {dt})"]
          if p else []),
        f"w2t_{k} = np.ascontiguousarray(np.ascontiguousarray({w}).reshape(O_{k}, K_{k}).T)",
        f"dyf_{k} = np.ascontiguousarray({dy}).reshape(N_{k}, O_{k}, HW_{k})",
        *_blocks(k, dt, lambda column: [], [
            f"for m_{k} in range(nb_{k}):",
            f"    np.dot(w2t_{k}, dyf_{k}[n0_{k} + m_{k}], cols3_{k}[m_{k}])",
            *col2im(f"cols3_{k}[m_{k}, r_{k}, i_{k} * Wo_{k} + j_{k}]"),
        ], [
            *_gather(k, dt),
            f"cols_{k} = np.dot(w2t_{k}, dyb_{k})",
            *col2im(f"cols_{k}[r_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}]"),
        ]),
        *(_planes(k, "N", "C", "H", "W", f"{out}[n_{k}, c_{k}, h_{k}, w_{k}] = "
                  f"{dx}[n_{k}, c_{k}, h_{k} + {p}, w_{k} + {p}]") if p else []),
    ]


def avg_pool2d(k: int, x: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H // size, W // size)`: the mean of each `size x size` window."""
    return [
        f"for n_{k} in prange({x}.shape[0]):",
        f"    for c_{k} in range({x}.shape[1]):",
        f"        for i_{k} in range({out}.shape[2]):",
        f"            for j_{k} in range({out}.shape[3]):",
        f"                s_{k} = {dt}(0.0)",
        f"                for a_{k} in range({size}):",
        f"                    for b_{k} in range({size}):",
        f"                        s_{k} += {x}[n_{k}, c_{k}, i_{k} * {size} + a_{k}, "
        f"j_{k} * {size} + b_{k}]",
        f"                {out}[n_{k}, c_{k}, i_{k}, j_{k}] = s_{k} / {dt}({size * size})",
    ]


def avg_pool2d_grad(k: int, dy: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H, W)`: each window's gradient shared by its inputs; 0 past the windows."""
    return [
        f"Ho_{k}, Wo_{k} = {dy}.shape[2], {dy}.shape[3]",
        f"for n_{k} in prange({dy}.shape[0]):",
        f"    for c_{k} in range({dy}.shape[1]):",
        f"        for h_{k} in range({out}.shape[2]):",
        f"            i_{k} = h_{k} // {size}",
        f"            for w_{k} in range({out}.shape[3]):",
        f"                j_{k} = w_{k} // {size}",
        f"                if i_{k} < Ho_{k} and j_{k} < Wo_{k}:",
        f"                    {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dy}[n_{k}, c_{k}, i_{k}, j_{k}]"
        f" / {dt}({size * size})",
        "                else:",
        f"                    {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dt}(0.0)",
    ]


def _sizes(k: int, dt: str) -> list[str]:
    """The column count, the block size `B`, and whether one product per sample is done
    (`small`, see the module docstring)."""
    return [f"K_{k} = C_{k} * KH_{k} * KW_{k}", f"HW_{k} = Ho_{k} * Wo_{k}",
            f"B_{k} = max(1, {BLOCK} // max(1, K_{k} * HW_{k}))",
            f"small_{k} = O_{k} * K_{k} * HW_{k} <= {SMALL}"]


def _padded(k: int, x: str, dt: str, p: int) -> list[str]:
    """`xp`: `x` with `p` zeros on every side, so that every window lies inside it."""
    if not p:
        return []
    return [f"xp_{k} = np.zeros((N_{k}, C_{k}, H_{k} + {2 * p}, W_{k} + {2 * p}), {dt})",
            *_planes(k, "N", "C", "H", "W", f"xp_{k}[n_{k}, c_{k}, h_{k} + {p}, w_{k} + {p}] = "
                     f"{x}[n_{k}, c_{k}, h_{k}, w_{k}]")]


def _planes(k: int, n: str, c: str, h: str, w: str, line: str) -> list[str]:
    """`line` for every `n, c, h, w` below the sizes named (explicit loops: numba's parallel
    analysis fails on some slice assignments inside `prange`)."""
    return [f"for n_{k} in prange({n}_{k}):", f"    for c_{k} in range({c}_{k}):",
            f"        for h_{k} in range({h}_{k}):", f"            for w_{k} in range({w}_{k}):",
            f"                {line}"]


def _blocks(k: int, dt: str, fill: Callable[[str], list[str]], small: list[str],
            large: list[str]) -> list[str]:
    """Per block of at most `B` samples (`n0` the first, `nb` how many): the columns, then
    `small`, with `cols3[m]` the `(C*KH*KW, H'*W')` columns of sample `m`, or `large`, with
    `cols` the `(C*KH*KW, nb*H'*W')` columns of the block. `fill(layout)` writes the columns
    in either layout."""
    by_sample, by_block = (f"cols3_{k}[m_{k}, r_{k}, i_{k} * Wo_{k} + j_{k}]",
                           f"cols_{k}[r_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}]")
    return [f"for n0_{k} in range(0, N_{k}, B_{k}):",
            f"    nb_{k} = min(B_{k}, N_{k} - n0_{k})",
            f"    if small_{k}:",
            f"        cols3_{k} = np.empty((nb_{k}, K_{k}, HW_{k}), {dt})",
            *("        " + line for line in [*fill(by_sample), *small]),
            "    else:",
            f"        cols_{k} = np.empty((K_{k}, nb_{k} * HW_{k}), {dt})",
            *("        " + line for line in [*fill(by_block), *large])]


def _sample(k: int) -> str:
    """The columns of the block's sample `m`."""
    return f"m_{k} * HW_{k}:(m_{k} + 1) * HW_{k}"


def _per_sample(k: int, line: str) -> list[str]:
    """`line` for every sample `m` of the block and channel `o`: whole rows of `H'*W'`."""
    return [f"for m_{k} in prange(nb_{k}):", f"    for o_{k} in range(O_{k}):",
            f"        {line}"]


def _gather(k: int, dt: str) -> list[str]:
    """`dyb (O, nb*H'*W')`: the block's gradients, in the columns' order (a view of `dy` for
    a block of one sample)."""
    return [f"if nb_{k} == 1:",
            f"    dyb_{k} = dyf_{k}[n0_{k}]",
            "else:",
            f"    dyb_{k} = np.empty((O_{k}, nb_{k} * HW_{k}), {dt})",
            *("    " + line for line in _per_sample(
                k, f"dyb_{k}[o_{k}, {_sample(k)}] = dyf_{k}[n0_{k} + m_{k}, o_{k}]"))]


def _at(axis: str, k: int, s: int, tap: str) -> str:
    """The (padded) input coordinate an output coordinate reads at a window tap."""
    return f"{axis}_{k} * {s} + {tap}_{k}" if s > 1 else f"{axis}_{k} + {tap}_{k}"


def _window_loops(k: int, body: list[str]) -> list[str]:
    """Loops over the window taps `a, b` (row `r` of the columns) and the output positions
    `i, j`, all from 0 (see the module docstring)."""
    return [
        f"for a_{k} in range(KH_{k}):",
        f"    for b_{k} in range(KW_{k}):",
        f"        r_{k} = (c_{k} * KH_{k} + a_{k}) * KW_{k} + b_{k}",
        f"        for i_{k} in range(Ho_{k}):",
        f"            for j_{k} in range(Wo_{k}):",
        *("                " + line for line in body),
    ]


def _im2col(k: int, x: str, s: int, column: str) -> list[str]:
    """`column`, the place of tap `(a, b)` of channel `c` and output `(i, j)` of the block's
    sample `m` in the columns, = the (padded) input it reads."""
    return [
        f"for m_{k} in prange(nb_{k}):",
        f"    for c_{k} in range(C_{k}):",
        *("        " + line for line in _window_loops(k, [
            f"{column} = {x}[n0_{k} + m_{k}, c_{k}, {_at('i', k, s, 'a')}, "
            f"{_at('j', k, s, 'b')}]"])),
    ]
