"""What ``seqnn models`` prints, without importing torch: a one-line description of every
registered model family, each parameter's type, default, allowed values and meaning, and
the training settings (:class:`seqnn.config.TrainConfig`).

The registry (:mod:`seqnn.models`) builds the models and is the authority; this table only
describes it, so that listing models stays fast. ``tests/cli/test_cli.py`` checks that every
registered model and parameter is described here with the registry's default, and every
training setting with TrainConfig's.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Param(NamedTuple):
    """One parameter: its type, default, allowed values (``None`` = any of the type) and a
    one-line description."""

    type: str
    default: Any
    choices: tuple | None
    help: str


INPUTS = ("onehot", "blosum62", "embedding")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "maxout")
POOLS = ("max", "mean", "meanmax")

_INPUT = Param("str", "onehot", INPUTS, "per-residue input: one-hot, BLOSUM62 rows or a "
               "learned embedding")
_EMBED_DIM = Param("int", 16, None, "only with input: embedding: width of the learned "
                   "embedding (unused with the default one-hot, or blosum62)")
_ACT = Param("str", "relu", ACTIVATIONS, "activation function")

MODELS: dict[str, tuple[str, dict[str, Param]]] = {
    "mlp": ("fully connected network on pooled (or flattened) residue features; the "
            "simplest reference", {
        "input": _INPUT, "embed_dim": _EMBED_DIM,
        "pool": Param("str", "meanmax", POOLS, "pooling over real positions"),
        "log_length": Param("bool", True, None, "add log(length) as one more feature"),
        "flatten": Param("bool", False, None, "flatten the (C x max_len) features instead "
                         "of pooling"),
        "max_len": Param("int", 200, None, "width the input is cut or padded to with flatten"),
        "hidden": Param("list[int]", [64], None, "hidden layer widths (empty = linear model)"),
        "dropout": Param("float", 0.2, None, "dropout probability"),
        "activation": _ACT,
    }),
    "cnn": ("Conv1d stack -> masked global pooling -> dense head", {
        "input": _INPUT, "embed_dim": _EMBED_DIM,
        "channels": Param("list[int]", [64, 64], None, "conv layer widths, one per layer"),
        "kernel_size": Param("int | list[int]", 9, None, "kernel size, for all layers or "
                             "one per layer"),
        "dilation": Param("int | list[int]", 1, None, "dilation, for all layers or one per "
                          "layer"),
        "batch_norm": Param("bool", True, None, "masked batch norm after each conv"),
        "dropout": Param("float", 0.2, None, "dropout probability"),
        "activation": _ACT,
        "pool": Param("str", "max", (*POOLS, "attention"), "global pooling over real "
                      "positions (attention: learned softmax per channel, next to the max)"),
        "residual": Param("bool", False, None, "skip connections around conv blocks"),
        "head_hidden": Param("int", 64, None, "hidden width of the dense head (0 = linear)"),
        "ends": Param("int", 0, None, "also max-pool the first and last N residues on their "
                      "own (terminal signals)"),
        "downsample": Param("int", 1, None, "max-pool window/stride after the first conv "
                            "(speed for long proteins)"),
    }),
    "rnn": ("LSTM or GRU over packed sequences (optional conv front-end) -> pooling -> head", {
        "input": _INPUT, "embed_dim": _EMBED_DIM,
        "cell": Param("str", "lstm", ("lstm", "gru"), "recurrent cell"),
        "hidden_size": Param("int", 64, None, "hidden units per direction"),
        "num_layers": Param("int", 1, None, "stacked recurrent layers"),
        "bidirectional": Param("bool", True, None, "read both directions"),
        "pool": Param("str", "last", ("last", *POOLS), "last hidden state, or pooling over "
                      "real positions"),
        "conv_channels": Param("int", 0, None, "width of a Conv1d front-end (0 = none)"),
        "conv_kernel": Param("int", 9, None, "kernel size of the conv front-end"),
        "conv_pool": Param("int", 1, None, "max-pool stride after the conv front-end"),
        "activation": _ACT,
        "batch_norm": Param("bool", False, None, "masked batch norm in the conv front-end"),
        "dropout": Param("float", 0.2, None, "dropout probability"),
        "head_hidden": Param("int", 0, None, "hidden width of the dense head (0 = linear)"),
        "composition": Param("bool", False, None, "append the residue fractions (21) to the "
                             "pooled state"),
    }),
    "autoencoder": ("encoder -> latent vector -> decoder reconstructing every residue "
                    "(unsupervised; embed gives the latent)", {
        "input": _INPUT, "embed_dim": _EMBED_DIM,
        "encoder": Param("str", "conv", ("conv", "gru"), "encoder kind"),
        "channels": Param("list[int]", [64, 64], None, "conv encoder layer widths"),
        "kernel_size": Param("int | list[int]", 9, None, "conv kernel size"),
        "hidden_size": Param("int", 64, None, "GRU hidden units per direction"),
        "pool": Param("str", "max", (*POOLS, "last"), "pooling to the latent ('last' only "
                      "with the gru encoder)"),
        "latent_dim": Param("int", 32, None, "size of the latent vector"),
        "decoder": Param("str", "conv", ("conv", "gru"), "decoder kind"),
        "decoder_channels": Param("list[int]", [64, 64], None, "conv decoder layer widths"),
        "pos_dim": Param("int", 16, None, "channels of the positional signal fed to the "
                         "decoder"),
        "activation": _ACT,
        "batch_norm": Param("bool", False, None, "masked batch norm after each conv"),
        "dropout": Param("float", 0.0, None, "dropout probability"),
    }),
}
_AE = MODELS["autoencoder"][1]
_GEN_LEN = Param("int", 100, None, "longest generated sequence (longer training ones count "
                 "as this long)")
MODELS["vae"] = ("autoencoder with a variational latent, a length head and a sampler "
                 "(generative: seqnn generate)", {
    **{k: v for k, v in _AE.items()},
    "latent_dim": Param("int", 16, None, "size of the latent vector"),
    "kl_weight": Param("float", 1.0, None, "weight of the KL term (beta)"),
    "kl_warmup": Param("int", 1000, None, "training batches of linear KL annealing from 0 "
                       "(0 = none)"),
    "max_gen_len": _GEN_LEN,
})
MODELS["gan"] = ("WGAN-GP generator and critic over one-hot sequences, end token for length "
                 "(generative: seqnn generate)", {
    "latent_dim": Param("int", 64, None, "size of the generator's noise vector"),
    "channels": Param("list[int]", [128, 128], None, "generator conv layer widths"),
    "kernel_size": Param("int", 5, None, "conv kernel size (generator and critic)"),
    "critic_channels": Param("list[int]", [64, 64], None, "critic conv layer widths"),
    "activation": _ACT,
    "max_gen_len": _GEN_LEN._replace(default=64),
    "gp_weight": Param("float", 10.0, None, "weight of the gradient penalty"),
    "n_critic": Param("int", 5, None, "critic updates per generator update"),
    "tau": Param("float", 1.0, None, "Gumbel-softmax temperature (straight-through)"),
    "eval_samples": Param("int", 256, None, "sequences generated (fixed seed) for the "
                          "validation criterion"),
})

#: the training settings (``train:`` of a model block), as in TrainConfig
TRAIN_SETTINGS: dict[str, Param] = {
    "epochs": Param("int", 100, None, "most epochs to train"),
    "batch_size": Param("int", 64, None, "sequences per batch"),
    "lr": Param("float", 1e-3, None, "learning rate"),
    "weight_decay": Param("float", 0.0, None, "weight decay (L2)"),
    "optimizer": Param("str", "adam", ("adam", "adamw", "sgd"), "optimiser"),
    "scheduler": Param("str", "none", ("none", "plateau", "cosine"), "learning-rate schedule"),
    "grad_clip": Param("float | null", 1.0, None, "clip the gradient norm (null/0 = off)"),
    "ema": Param("float", 0.0, None, "decay of a moving average of the weights (0 = off)"),
    "ensemble": Param("int", 1, None,
                      "train k members (seeds seed..seed+k-1, one batch order) and average"),
    "patience": Param("int", 10, None, "early stopping: epochs without improvement"),
    "monitor": Param("str | null", None, None, "validation metric for early stopping "
                     "(null = the task's primary metric; 'loss' = validation loss)"),
    "class_weights": Param("str | float", "none", ("none", "balanced", "sqrt", "(0, 2]"),
                           "class weights in the loss (a number = power of balanced)"),
    "loss": Param("str", "auto", ("auto", "cross_entropy", "bce", "mse",
                                  "a name registered under entry points seqnn.losses"),
                  "loss function (a config never imports code)"),
    "max_len": Param("int", 1000, None, "longest sequence the model sees"),
    "truncate": Param("str", "ends", ("right", "left", "center", "ends", "error"),
                      "how longer sequences are cut (ends keeps both termini)"),
    "device": Param("str", "auto", ("auto", "cpu", "cuda", "cuda:N", "mps"), "device"),
    "amp": Param("bool", True, None, "mixed precision on CUDA"),
    "seed": Param("int", 0, None, "random seed (weights, batches)"),
    "threads": Param("int | null", None, None, "CPU threads for torch (null = torch's "
                     "choice)"),
    "num_workers": Param("int", 0, None, "DataLoader worker processes"),
    "quiet": Param("bool", False, None, "no progress bar and no per-epoch log lines"),
    "nproc": Param("int", 1, None, "workflow: data-parallel processes under torchrun "
                   "(one per GPU on cuda)"),
}


def describe(name: str | None = None) -> dict[str, Any]:
    """``seqnn models`` as plain data: ``{"models": {name: description}}`` for every model,
    or for one ``name`` its description, ``params`` (each with type, default, choices and
    help) and the ``train`` settings; raises ``KeyError`` for an unknown name."""
    if name is None:
        return {"models": {k: v[0] for k, v in MODELS.items()}}
    description, params = MODELS[name]
    return {"model": name, "description": description,
            "params": {k: p._asdict() for k, p in params.items()},
            "train": {k: p._asdict() for k, p in TRAIN_SETTINGS.items()}}


__all__ = ["MODELS", "TRAIN_SETTINGS", "Param", "describe"]
