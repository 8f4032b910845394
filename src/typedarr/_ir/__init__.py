"""The IR: nodes, their operations and dtypes, and the linearised program engines consume.

It imports nothing else of typedarr: the engines, the dispatcher and the front-end are built
on it (DESIGN §8).
"""

from ._dtypes import FLOAT32 as FLOAT32
from ._dtypes import FLOAT64 as FLOAT64
from ._dtypes import FLOAT_DTYPES as FLOAT_DTYPES
from ._dtypes import FLOATS as FLOATS
from ._dtypes import Float as Float
from ._dtypes import float_of as float_of
from ._frozen import frozen as frozen
from ._frozen import is_frozen as is_frozen
from ._node import Array as Array
from ._node import DType as DType
from ._node import Node as Node
from ._node import Shape as Shape
from ._node import avg_pool2d as avg_pool2d
from ._node import avg_pool2d_grad as avg_pool2d_grad
from ._node import binary as binary
from ._node import chunked as chunked
from ._node import const as const
from ._node import conv2d as conv2d
from ._node import conv2d_grad_input as conv2d_grad_input
from ._node import conv2d_grad_weight as conv2d_grad_weight
from ._node import conv2d_shape as conv2d_shape
from ._node import expand as expand
from ._node import input_ as input_
from ._node import is_leaf as is_leaf
from ._node import leaf as leaf
from ._node import matmul as matmul
from ._node import max_pool2d as max_pool2d
from ._node import max_pool2d_grad as max_pool2d_grad
from ._node import permute as permute
from ._node import reduce_max as reduce_max
from ._node import reduce_sum as reduce_sum
from ._node import reshape as reshape
from ._node import unary as unary
from ._node import where as where
from ._node import with_src as with_src
from ._ops import COMPARISONS as COMPARISONS
from ._ops import BinaryOp as BinaryOp
from ._ops import Op as Op
from ._ops import Structural as Structural
from ._ops import UnaryOp as UnaryOp
from ._program import Arg as Arg
from ._program import Instr as Instr
from ._program import Program as Program
from ._walks import holds_chunked as holds_chunked
from ._walks import postorder as postorder
from ._walks import render as render
from ._walks import substitute as substitute
