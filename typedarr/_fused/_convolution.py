"""Kernel source for convolution and pooling: the loop nests `_codegen` emits for them.

A convolution is lowered to matrix products (im2col): a block of samples at a time, the
windows it reads are copied into the columns of a `(C*KH*KW, samples*H'*W')` buffer by
generated loops (split over samples and channels under `Par`), and one `np.dot` (BLAS)
multiplies them by the weights. Blocks keep the buffer near cache size; one product per
block, not per sample, keeps BLAS's calls few and large. BLAS is called outside `prange`
only: OpenBLAS called from OpenMP threads warns that it may hang. Measured on seed 003's
shapes, this beats generated direct loops by a wide margin for the large layer and is on
par with them for the small one (`benchmarks.conv` has the numbers). Pooling is generated
loops. Stride, padding and window size are literals of the source (part of the kernel's
structural key), so the compiler sees unit strides as such and vectorises the copies.

Every function returns the lines of one nest, reading its stored sources by name and
writing `out`; local names end in `_` and the instruction's number `k` (`cols_3`), which
no other name in a kernel does, so nests never collide.
"""

from __future__ import annotations

# Floats of im2col buffer per block of samples: about the size of a core's L2 cache.
BLOCK = 1 << 18


def conv2d(k: int, x: str, w: str, out: str, dt: str, stride: int, padding: int
           ) -> list[str]:
    """`out (N, O, H', W')` = the cross-correlation of `x (N, C, H, W)` with `w (O, C, KH, KW)`."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {w}.shape[0], {w}.shape[2], {w}.shape[3]",
        f"Ho_{k}, Wo_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k),
        f"w2_{k} = np.ascontiguousarray({w}).reshape(O_{k}, K_{k})",
        *_blocks(k, [
            *_im2col(k, x, dt, stride, padding),
            f"res_{k} = np.dot(w2_{k}, cols_{k})",
            *_per_sample(k, "O", [f"{out}[n0_{k} + m_{k}, o_{k}, i_{k}, j_{k}] = "
                                  f"res_{k}[o_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}]"]),
        ]),
    ]


def conv2d_grad_weight(k: int, x: str, dy: str, out: str, dt: str, stride: int,
                       padding: int) -> list[str]:
    """`out (O, C, KH, KW)`: the sum over samples and positions of `dy` times the window."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {out}.shape[0], {out}.shape[2], {out}.shape[3]",
        f"Ho_{k}, Wo_{k} = {dy}.shape[2], {dy}.shape[3]",
        *_sizes(k),
        f"acc_{k} = np.zeros((O_{k}, K_{k}), {dt})",
        *_blocks(k, [
            *_im2col(k, x, dt, stride, padding),
            *_gather(k, dy, dt),
            f"acc_{k} += np.dot(dyb_{k}, cols_{k}.T)",
        ]),
        f"{out}[...] = acc_{k}.reshape(O_{k}, C_{k}, KH_{k}, KW_{k})",
    ]


def conv2d_grad_input(k: int, dy: str, w: str, out: str, dt: str, stride: int,
                      padding: int) -> list[str]:
    """`out (N, C, H, W)`: each output's gradient spread back over its window (col2im)."""
    s, p = stride, padding
    scatter = [
        f"n_{k} = n0_{k} + m_{k}",
        f"for h_{k} in range(H_{k}):",
        f"    for w_{k} in range(W_{k}):",
        f"        {out}[n_{k}, c_{k}, h_{k}, w_{k}] = 0",
        *_window_loops(k, s, p, [
            f"{out}[n_{k}, c_{k}, {_at('i', k, s, 'a', p)}, {_at('j', k, s, 'b', p)}] += "
            f"dcols_{k}[r_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}]"]),
    ]
    return [
        f"N_{k}, O_{k}, Ho_{k}, Wo_{k} = {dy}.shape",
        f"C_{k}, KH_{k}, KW_{k} = {w}.shape[1], {w}.shape[2], {w}.shape[3]",
        f"H_{k}, W_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k),
        f"w2t_{k} = np.ascontiguousarray(np.ascontiguousarray({w}).reshape(O_{k}, K_{k}).T)",
        *_blocks(k, [
            *_gather(k, dy, dt),
            f"dcols_{k} = np.dot(w2t_{k}, dyb_{k})",
            f"for q_{k} in prange(nb_{k} * C_{k}):",
            f"    m_{k}, c_{k} = q_{k} // C_{k}, q_{k} % C_{k}",
            *("    " + line for line in scatter),
        ]),
    ]


def avg_pool2d(k: int, x: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H // size, W // size)`: the mean of each `size x size` window."""
    return [
        f"N_{k}, C_{k} = {x}.shape[0], {x}.shape[1]",
        f"for q_{k} in prange(N_{k} * C_{k}):",
        f"    n_{k}, c_{k} = q_{k} // C_{k}, q_{k} % C_{k}",
        f"    for i_{k} in range({out}.shape[2]):",
        f"        for j_{k} in range({out}.shape[3]):",
        f"            s_{k} = {dt}(0.0)",
        f"            for a_{k} in range({size}):",
        f"                for b_{k} in range({size}):",
        f"                    s_{k} += {x}[n_{k}, c_{k}, i_{k} * {size} + a_{k}, "
        f"j_{k} * {size} + b_{k}]",
        f"            {out}[n_{k}, c_{k}, i_{k}, j_{k}] = s_{k} / {dt}({size * size})",
    ]


def avg_pool2d_grad(k: int, dy: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H, W)`: each window's gradient shared by its inputs; 0 past the windows."""
    return [
        f"N_{k}, C_{k}, Ho_{k}, Wo_{k} = {dy}.shape",
        f"for q_{k} in prange(N_{k} * C_{k}):",
        f"    n_{k}, c_{k} = q_{k} // C_{k}, q_{k} % C_{k}",
        f"    for h_{k} in range({out}.shape[2]):",
        f"        i_{k} = h_{k} // {size}",
        f"        for w_{k} in range({out}.shape[3]):",
        f"            j_{k} = w_{k} // {size}",
        f"            if i_{k} < Ho_{k} and j_{k} < Wo_{k}:",
        f"                {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dy}[n_{k}, c_{k}, i_{k}, j_{k}] / "
        f"{dt}({size * size})",
        "            else:",
        f"                {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dt}(0.0)",
    ]


def _sizes(k: int) -> list[str]:
    return [f"K_{k} = C_{k} * KH_{k} * KW_{k}", f"HW_{k} = Ho_{k} * Wo_{k}",
            f"B_{k} = max(1, {BLOCK} // max(1, K_{k} * HW_{k}))"]


def _blocks(k: int, body: list[str]) -> list[str]:
    """`body` once per block of at most `B` samples, `n0` the block's first, `nb` its size."""
    return [f"for n0_{k} in range(0, N_{k}, B_{k}):",
            f"    nb_{k} = min(B_{k}, N_{k} - n0_{k})",
            *("    " + line for line in body)]


def _at(axis: str, k: int, s: int, tap: str, p: int) -> str:
    """The input coordinate an output coordinate reads at a window tap."""
    return f"{axis}_{k} * {s} + {tap}_{k} - {p}" if p else f"{axis}_{k} * {s} + {tap}_{k}"


def _window_loops(k: int, s: int, p: int, body: list[str]) -> list[str]:
    """Loops over the window taps `a, b` (row `r` of the columns) and the output positions
    `i, j` whose input coordinate lies inside the unpadded input."""
    return [
        f"for a_{k} in range(KH_{k}):",
        f"    ilo_{k} = max(0, ({p} - a_{k} + {s - 1}) // {s})",
        f"    ihi_{k} = min(Ho_{k}, (H_{k} - 1 + {p} - a_{k}) // {s} + 1)",
        f"    for b_{k} in range(KW_{k}):",
        f"        jlo_{k} = max(0, ({p} - b_{k} + {s - 1}) // {s})",
        f"        jhi_{k} = min(Wo_{k}, (W_{k} - 1 + {p} - b_{k}) // {s} + 1)",
        f"        r_{k} = (c_{k} * KH_{k} + a_{k}) * KW_{k} + b_{k}",
        f"        for i_{k} in range(ilo_{k}, ihi_{k}):",
        f"            for j_{k} in range(jlo_{k}, jhi_{k}):",
        *("                " + line for line in body),
    ]


def _im2col(k: int, x: str, dt: str, s: int, p: int) -> list[str]:
    """`cols[(c, a, b), m*H'*W' + i*W' + j]` = the padded input that output reads (0 in the
    padding) for the `nb` samples from `n0`."""
    alloc = "np.zeros" if p else "np.empty"  # without padding every column is written
    return [
        f"cols_{k} = {alloc}((K_{k}, nb_{k} * HW_{k}), {dt})",
        f"for q_{k} in prange(nb_{k} * C_{k}):",
        f"    m_{k}, c_{k} = q_{k} // C_{k}, q_{k} % C_{k}",
        *("    " + line for line in _window_loops(k, s, p, [
            f"cols_{k}[r_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}] = "
            f"{x}[n0_{k} + m_{k}, c_{k}, {_at('i', k, s, 'a', p)}, {_at('j', k, s, 'b', p)}]"])),
    ]


def _gather(k: int, dy: str, dt: str) -> list[str]:
    """`dyb[o, m*H'*W' + i*W' + j]` = `dy[n0 + m, o, i, j]`: the block's gradients as one
    matrix, its columns in the order of the im2col columns."""
    return [f"dyb_{k} = np.empty((O_{k}, nb_{k} * HW_{k}), {dt})",
            *_per_sample(k, "O", [f"dyb_{k}[o_{k}, m_{k} * HW_{k} + i_{k} * Wo_{k} + j_{k}] = "
                                  f"{dy}[n0_{k} + m_{k}, o_{k}, i_{k}, j_{k}]"])]


def _per_sample(k: int, channels: str, body: list[str]) -> list[str]:
    """`body` for every sample `m` of the block, channel `o` and output position `i, j`."""
    return [f"for q_{k} in prange(nb_{k} * {channels}_{k}):",
            f"    m_{k}, o_{k} = q_{k} // {channels}_{k}, q_{k} % {channels}_{k}",
            f"    for i_{k} in range(Ho_{k}):",
            f"        for j_{k} in range(Wo_{k}):",
            *("            " + line for line in body)]
