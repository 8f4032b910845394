"""typedarr: typed Matrix, Vector and Tensor4 arrays that never broadcast behind your back.

Modelled on Haskell's massiv: manifest (`U`) and delayed (`D`) representations, `Seq` and
`Par` strategies, explicit broadcasts (`br`, `rows_like`, `cols_like`) and reductions
(`sum_rows`, `sum_cols`), and `compute` to turn an expression into memory.
"""

# Construct: arrays in memory (U) and delayed (D), Matrix, Vector and Tensor4
from ._matrix import DMatrix as DMatrix
from ._matrix import Matrix as Matrix
from ._matrix import MatrixLike as MatrixLike
from ._matrix import concat_cols as concat_cols
from ._matrix import concat_rows as concat_rows
from ._reshape import reshape as reshape
from ._tensor4 import DTensor4 as DTensor4
from ._tensor4 import Tensor4 as Tensor4
from ._tensor4 import Tensor4Like as Tensor4Like
from ._tensor4 import flatten as flatten
from ._tensor4 import unflatten as unflatten
from ._vector import DVector as DVector
from ._vector import Vector as Vector
from ._vector import VectorLike as VectorLike

# isort: split
# Elementwise and compute
from ._functions import clip as clip
from ._functions import compute as compute
from ._functions import exp as exp
from ._functions import log as log
from ._functions import maximum as maximum
from ._functions import minimum as minimum
from ._functions import relu as relu
from ._functions import sigmoid as sigmoid
from ._functions import sqrt as sqrt
from ._functions import tanh as tanh
from ._functions import where as where

# isort: split
# Chunked arrays on Dask (Matrix.from_dask, Matrix.from_zarr, x.to_dask())
from ._chunked import store as store

# isort: split
# Compiling whole functions
from ._jit import Jitted as Jitted
from ._jit import jit as jit
from ._trace import tracing as tracing

# isort: split
# Broadcast and reduce
from ._argreduce import argmax_cols as argmax_cols
from ._argreduce import argmax_rows as argmax_rows
from ._argreduce import argmin_cols as argmin_cols
from ._argreduce import argmin_rows as argmin_rows
from ._broadcast import br as br
from ._broadcast import channels_like as channels_like
from ._broadcast import cols_like as cols_like
from ._broadcast import colsLike as colsLike
from ._broadcast import rows_like as rows_like
from ._broadcast import rowsLike as rowsLike
from ._indices import Indices as Indices
from ._reduce import max_cols as max_cols
from ._reduce import max_rows as max_rows
from ._reduce import mean as mean
from ._reduce import mean_all as mean_all
from ._reduce import min_cols as min_cols
from ._reduce import min_rows as min_rows
from ._reduce import sum_all as sum_all
from ._reduce import sum_channels as sum_channels
from ._reduce import sum_cols as sum_cols
from ._reduce import sum_rows as sum_rows
from ._reduce import sumCols as sumCols
from ._reduce import sumRows as sumRows
from ._reduce import var as var

# isort: split
# Convolution and pooling, and their adjoints
from ._conv import avg_pool2d as avg_pool2d
from ._conv import avg_pool2d_grad as avg_pool2d_grad
from ._conv import conv2d as conv2d
from ._conv import conv2d_grad_input as conv2d_grad_input
from ._conv import conv2d_grad_weight as conv2d_grad_weight
from ._conv import max_pool2d as max_pool2d
from ._conv import max_pool2d_grad as max_pool2d_grad

# isort: split
# Strategies, errors and warnings
from ._errors import DTypeError as DTypeError
from ._errors import FusionUnavailableWarning as FusionUnavailableWarning
from ._errors import KernelCacheWarning as KernelCacheWarning
from ._errors import ShapeError as ShapeError
from ._errors import TraceError as TraceError
from ._strategy import Par as Par
from ._strategy import Seq as Seq
from ._strategy import Strategy as Strategy
from ._strategy import default_strategy as default_strategy
from ._strategy import set_default_strategy as set_default_strategy
from ._text import parse_integer as parse_integer
from ._text import parse_number as parse_number

# isort: split
# Support for libraries built on typedarr (nn): argument checks, dtypes, seeds, atomic files
from ._args import FINITE as FINITE
from ._args import NON_NEGATIVE as NON_NEGATIVE
from ._args import POSITIVE as POSITIVE
from ._args import UNIT as UNIT
from ._args import UNIT_OPEN as UNIT_OPEN
from ._args import Range as Range
from ._args import Real as Real
from ._args import Size as Size
from ._args import check_fields as check_fields
from ._args import integer as integer
from ._args import real as real
from ._args import size as size
from ._array import check_dtype as check_dtype
from ._atomic import atomic_writer as atomic_writer
from ._construct import generator as generator

__all__ = [
    "FINITE",
    "NON_NEGATIVE",
    "POSITIVE",
    "UNIT",
    "UNIT_OPEN",
    "DMatrix",
    "DTensor4",
    "DTypeError",
    "DVector",
    "FusionUnavailableWarning",
    "Indices",
    "Jitted",
    "KernelCacheWarning",
    "Matrix",
    "MatrixLike",
    "Par",
    "Range",
    "Real",
    "Seq",
    "ShapeError",
    "Size",
    "Strategy",
    "Tensor4",
    "Tensor4Like",
    "TraceError",
    "Vector",
    "VectorLike",
    "argmax_cols",
    "argmax_rows",
    "argmin_cols",
    "argmin_rows",
    "atomic_writer",
    "avg_pool2d",
    "avg_pool2d_grad",
    "br",
    "channels_like",
    "check_dtype",
    "check_fields",
    "clip",
    "colsLike",
    "cols_like",
    "compute",
    "concat_cols",
    "concat_rows",
    "conv2d",
    "conv2d_grad_input",
    "conv2d_grad_weight",
    "default_strategy",
    "exp",
    "flatten",
    "generator",
    "integer",
    "jit",
    "log",
    "max_cols",
    "max_pool2d",
    "max_pool2d_grad",
    "max_rows",
    "maximum",
    "mean",
    "mean_all",
    "min_cols",
    "min_rows",
    "minimum",
    "parse_integer",
    "parse_number",
    "real",
    "relu",
    "reshape",
    "rowsLike",
    "rows_like",
    "set_default_strategy",
    "sigmoid",
    "size",
    "sqrt",
    "store",
    "sumCols",
    "sumRows",
    "sum_all",
    "sum_channels",
    "sum_cols",
    "sum_rows",
    "tanh",
    "tracing",
    "unflatten",
    "var",
    "where",
]
