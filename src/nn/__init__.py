"""nn: neural networks on typedarr, after seed 000's Haskell `Layer` / `Gradients` / `_pass`.

A network is a list of immutable layers; `pass_` runs it forward and backward in one
recursive function and returns the prediction and one `Gradients` per layer; an
optimiser's `update` turns them into a new network. Every gradient is of the mean loss over
the batch.

```
net = nn.mlp(784, 10, [300, 50], [nn.Relu, nn.Relu, nn.Identity], num_bn_layers=2, seed=0)
opt = nn.SGD(lr=0.01)
pred, grads = nn.pass_(nn.Phase.TRAIN, net, x, nn.one_hot(labels, 10), rng=rng)
net, opt = opt.update(net, grads)
print(nn.loss(pred, target), nn.accuracy(nn.forward(net, x_test), test_labels))
```

Seed 000's `Linear'` and `Linear'Gradients` are `LinearNoBias` and `LinearNoBiasGradients`;
its `BN1` is `Batchnorm1dGradients` (and `BN2` the per-channel `Batchnorm2dGradients`): the
seed's names stay exported as aliases of the same classes.
"""

# Layers (seed 000)
from ._activations import FActivation as FActivation
from ._activations import Identity as Identity
from ._activations import Relu as Relu
from ._activations import Sigmoid as Sigmoid
from ._activations import Tanh as Tanh
from ._batchnorm_layers import Batchnorm1d as Batchnorm1d
from ._batchnorm_layers import Batchnorm2d as Batchnorm2d
from ._layers import Activation as Activation
from ._layers import AvgPool2d as AvgPool2d
from ._layers import Conv2d as Conv2d
from ._layers import Dropout as Dropout
from ._layers import Flatten as Flatten
from ._layers import Layer as Layer
from ._layers import Linear as Linear
from ._layers import LinearNoBias as LinearNoBias
from ._layers import MaxPool2d as MaxPool2d
from ._layers import Network as Network

# isort: split
# Gradients (seed 000)
from ._batchnorm_layers import BN1 as BN1
from ._batchnorm_layers import BN2 as BN2
from ._batchnorm_layers import Batchnorm1dGradients as Batchnorm1dGradients
from ._batchnorm_layers import Batchnorm2dGradients as Batchnorm2dGradients
from ._layers import Conv2dGradients as Conv2dGradients
from ._layers import Gradients as Gradients
from ._layers import LinearGradients as LinearGradients
from ._layers import LinearNoBiasGradients as LinearNoBiasGradients
from ._layers import NoGrad as NoGrad

# isort: split
# The pass (seed 000)
from ._pass import Phase as Phase
from ._pass import forward as forward
from ._pass import pass_ as pass_

# isort: split
# The training step compiled into one call
from ._compiled import Step as Step
from ._compiled import compile_step as compile_step

# isort: split
# Outputs and losses
from ._losses import Loss as Loss
from ._losses import SigmoidBinaryCrossEntropy as SigmoidBinaryCrossEntropy
from ._losses import SoftmaxCrossEntropy as SoftmaxCrossEntropy
from ._losses import binary_cross_entropy as binary_cross_entropy
from ._losses import cross_entropy as cross_entropy
from ._losses import logsumexp as logsumexp
from ._losses import loss as loss
from ._losses import softmax as softmax

# isort: split
# Optimisers
from ._optim import SGD as SGD
from ._optim import Adam as Adam
from ._optim import Optimizer as Optimizer
from ._optim import RMSprop as RMSprop

# isort: split
# Updates
from ._update import update_batch_statistics as update_batch_statistics

# isort: split
# Initialisers
from ._init import BiasInit as BiasInit
from ._init import WeightInit as WeightInit
from ._init import he_normal as he_normal
from ._init import he_normal_conv as he_normal_conv
from ._init import small_normal as small_normal
from ._init import small_normal_bias as small_normal_bias
from ._init import standard_normal as standard_normal
from ._init import xavier_normal as xavier_normal
from ._init import xavier_normal_conv as xavier_normal_conv
from ._init import zero_bias as zero_bias

# isort: split
# The MLP builder (seed 004)
from ._mlp import mlp as mlp

# isort: split
# Building a network whose sizes mypy checks
from ._chain import Chain as Chain

# isort: split
# Checks
from ._check import check_network as check_network

# isort: split
# Labels and metrics
from ._labels import accuracy as accuracy
from ._labels import binary_targets as binary_targets
from ._labels import one_hot as one_hot

# isort: split
# Checkpoints
from ._checkpoint import load as load
from ._checkpoint import save as save

# isort: split
# PyTorch in and out
from ._torch import from_state_dict as from_state_dict
from ._torch import save_torch as save_torch
from ._torch import to_state_dict as to_state_dict

# isort: split
# Errors
from ._errors import CheckpointError as CheckpointError
from ._errors import NetworkError as NetworkError

__all__ = [
    "BN1",
    "BN2",
    "SGD",
    "Activation",
    "Adam",
    "AvgPool2d",
    "Batchnorm1d",
    "Batchnorm1dGradients",
    "Batchnorm2d",
    "Batchnorm2dGradients",
    "BiasInit",
    "Chain",
    "CheckpointError",
    "Conv2d",
    "Conv2dGradients",
    "Dropout",
    "FActivation",
    "Flatten",
    "Gradients",
    "Identity",
    "Layer",
    "Linear",
    "LinearGradients",
    "LinearNoBias",
    "LinearNoBiasGradients",
    "Loss",
    "MaxPool2d",
    "Network",
    "NetworkError",
    "NoGrad",
    "Optimizer",
    "Phase",
    "RMSprop",
    "Relu",
    "Sigmoid",
    "SigmoidBinaryCrossEntropy",
    "SoftmaxCrossEntropy",
    "Step",
    "Tanh",
    "WeightInit",
    "accuracy",
    "binary_cross_entropy",
    "binary_targets",
    "check_network",
    "compile_step",
    "cross_entropy",
    "forward",
    "from_state_dict",
    "he_normal",
    "he_normal_conv",
    "load",
    "logsumexp",
    "loss",
    "mlp",
    "one_hot",
    "pass_",
    "save",
    "save_torch",
    "small_normal",
    "small_normal_bias",
    "softmax",
    "standard_normal",
    "to_state_dict",
    "update_batch_statistics",
    "xavier_normal",
    "xavier_normal_conv",
    "zero_bias",
]
