"""The reference engine: every rule as batched matrix algebra (BLAS), rows = examples.

Forward ``h_{l+1} = f(W_l h_l + b_l)``; the output error δ_L = ∂loss/∂a_L (mean over the batch);
hidden errors δ_l = e_l ⊙ f'(a_l), where e_l — the input of layer l's error compartment — is what the
rule's feedback pathway delivers (:meth:`ReferenceEngine.error_input`). Weights change by
ΔW_l ∝ δ_{l+1}ᵀ h_l through the kernels of :mod:`spikefa.kernels`. This engine is the ground truth the
Brian2 circuits are tested against, and the fast path for rate-level sweeps.
"""

from __future__ import annotations

import numpy as np

from . import spec
from .activations import DERIVATIVE, FORWARD, functions
from .errors import UserCodeError
from .kernels import Gradient, flush_subnormal, sgd_step_vector, sgd_update
from .metrics import accuracy, angle
from .routes import effective_angles
from .rules import Params, Rule, Step, make_rule
from .rules.base import check_hooks
from .weights import Structure, draw, restore, structured


class ReferenceEngine:
    def __init__(self, circuit: spec.Circuit, rng: np.random.Generator):
        self.circuit = circuit
        net = circuit.network
        self.sizes = net.sizes
        self.L = len(net.sizes) - 1  # number of forward projections
        self.dtype = np.dtype(circuit.dtype)
        # the populations a feedback pathway may carry the error of (feedback.N.source)
        sizes = {f"layer{l}": n for l, n in enumerate(net.sizes)} | {e.name: e.size for e in circuit.brian.extra}
        self.structure = Structure(circuit.feedback, sizes)  # which feedback synapses exist, their signs
        self.rule: Rule = make_rule(circuit.rule, circuit.optimizer, self.structure)
        self.backprop: Rule = make_rule(spec.Rule("backprop"), circuit.optimizer)
        self.f, self.df = functions(net.hidden)
        self.f_out = FORWARD[net.output]
        self.df_out = DERIVATIVE.get(net.output)
        W = [
            draw(net.init, (n_out, n_in), (n_in, n_out), rng, self.dtype)
            for n_in, n_out in zip(self.sizes, self.sizes[1:])
        ]
        # the forward pathways' structure (``forward``): a sign, missing synapses (drawn only where
        # connectivity < 1, so a circuit without them draws exactly the weights it always did)
        self.forward_structure = Structure(circuit.forward, first=0)
        for l, w in enumerate(W):
            self.forward_structure.impose(l, w, rng)
        b = [np.zeros(n, self.dtype) for n in self.sizes[1:]]
        B, B0 = check_hooks(self.rule, self.sizes, self.rule.init_feedback(self.sizes, W, rng, self.dtype), self.dtype)
        self.params = Params(W, b, B, B0=B0)
        self.structure.constrain(self.params.B)
        # the circuit file's own pathways between any populations (Brian2 circuits only)
        drawn = {
            k.name: structured(k.structure, (sizes[k.target], sizes[k.source]), rng, self.dtype)
            for k in circuit.brian.pathways
        }
        for k in circuit.brian.pathways:  # a population's pathway to itself: no neuron onto itself
            if k.source == k.target and not k.autapses:
                w, mask = drawn[k.name]
                mask = np.ones(w.shape, bool) if mask is None else mask
                np.fill_diagonal(mask, False)
                np.fill_diagonal(w, 0.0)
                drawn[k.name] = w, mask
        self.params.links = {name: w for name, (w, _) in drawn.items()}
        self.link_masks = {name: mask for name, (_, mask) in drawn.items()}
        if net.bias_init.dist != "zero":  # drawn after everything else, so other circuits keep their numbers
            for l, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:])):
                self.params.b[l][...] = draw(net.bias_init, (n_out,), (n_in, n_out), rng, self.dtype)
        if circuit.input_feedback and not self.rule.transports_weights:  # B_0, drawn as B_1 is
            self.params.B[0] = draw(circuit.pathway(1).init, self.sizes[:2], self.sizes[1::-1], rng, self.dtype)
            self.params.vB[0] = np.zeros_like(self.params.B[0])
        # layers the circuit file drives through pathways of its own: their activity is not W h + b
        self.driven_elsewhere = any(k.into == "drive" for k in circuit.brian.pathways)
        # hidden layers whose feedback comes from another population (feedback.N.source: an extra one, or a
        # layer further up): beyond this engine's algebra
        self.relayed = {
            l: self.structure.pathway(l).source for l in range(1, self.L) if self.structure.pathway(l).source
        }

    # --- activity -------------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> tuple[list, list]:
        """Pre-activations A[l] and activities H[l] of every layer (A[0] is None, H[0] = x)."""
        A, H = [None], [x]
        for l, (W, b) in enumerate(zip(self.params.W, self.params.b)):
            a = H[-1] @ W.T
            a += b
            A.append(a)
            H.append(self.f_out(a) if l == self.L - 1 else self.f(a))
        return A, H

    def output_delta(self, a: np.ndarray, h: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂(mean loss)/∂a for the output layer (or a local classifier's output): h − y for cross-entropy
        with softmax and for binary cross-entropy with sigmoid units, (h − y) f'(a) for MSE."""
        if self.circuit.network.loss != "mse":
            return flush_subnormal((h - y) / len(y))
        return flush_subnormal((h - y) * self.df_out(a, h) / len(y))

    def loss(self, h: np.ndarray, y: np.ndarray) -> float:
        """Mean over the batch of −Σ y log p (cross-entropy), −Σ [y log p + (1 − y) log(1 − p)] over the
        output units (binary cross-entropy, each a sigmoid unit), or ½‖ŷ − y‖² (MSE)."""
        # p clipped at the dtype's smallest normal number: an output that underflows to 0 gives a
        # large finite loss, not 0 · log 0 = nan (in float32 1e-300 is itself 0)
        tiny = np.finfo(h.dtype).tiny
        if self.circuit.network.loss == "cross_entropy":
            return float(-np.sum(y * np.log(np.clip(h, tiny, None))) / len(y))
        if self.circuit.network.loss == "binary_cross_entropy":
            log_p, log_q = np.log(np.clip(h, tiny, None)), np.log(np.clip(1 - h, tiny, None))
            return float(-np.sum(y * log_p + (1 - y) * log_q) / len(y))
        return float(0.5 * np.sum((h - y) ** 2) / len(y))

    # --- errors and updates ---------------------------------------------------------------------
    def error_input(self, rule: Rule, l: int, deltas: list, H: list, y: np.ndarray) -> np.ndarray:
        """e_l: what rule's feedback pathway delivers to hidden layer l (before ⊙ f'(a_l))."""
        B = rule.feedback(l, self.params)
        if rule.topology == "layerwise":
            return deltas[l + 1] @ B.T
        if rule.topology == "direct":
            return deltas[self.L] @ B.T
        if rule.topology == "none":
            return np.zeros_like(H[l])
        z = H[l] @ B  # local classifier
        return self.output_delta(z, self.f_out(z), y) @ B.T

    def deltas(self, A: list, H: list, y: np.ndarray, rule: Rule | None = None) -> list:
        """δ_l for l = 1 … L (δ[0] is None), hidden errors through ``rule``'s feedback (default: own rule)."""
        rule = rule or self.rule
        deltas = [None] * (self.L + 1)
        deltas[self.L] = self.output_delta(A[self.L], H[self.L], y)
        for l in range(self.L - 1, 0, -1):
            deltas[l] = flush_subnormal(self.error_input(rule, l, deltas, H, y) * self.df(A[l], H[l]))
        return deltas

    def gradients(self, H: list, deltas: list) -> tuple[list, list]:
        """gW_l = δ_{l+1}ᵀ h_l and gb_l = Σ δ_{l+1}: the error-driven part of every update."""
        gW = [deltas[l + 1].T @ H[l] for l in range(self.L)]
        gb = [deltas[l + 1].sum(axis=0) for l in range(self.L)]
        return gW, gb

    def train_batch(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator
    ) -> tuple[float, np.ndarray]:
        """One learning step on a batch; returns (mean loss, output activity) before the step."""
        A, H = self.forward(x)
        self.learn(H, self.deltas(A, H, y), lr, rng)
        return self.loss(H[-1], y), H[-1]

    def learn(self, H: list, deltas: list, lr: float, rng: np.random.Generator, sent: list | None = None) -> None:
        """One step from given activities and errors, whichever engine computed them: W (and b) by
        momentum SGD, then the rule's own hook (KP's B update, SS's sign copy); ``sent``: the errors as
        feedback synapses see them from their source, where not δ (:class:`~spikefa.rules.Step`)."""
        if len(H[0]) == 1:  # one example: each gradient as the factors of its outer product
            gW: list[Gradient] = [(deltas[l + 1][0], H[l][0]) for l in range(self.L)]
            gb = [deltas[l + 1][0] for l in range(self.L)]
        else:
            gW, gb = self.gradients(H, deltas)
        decay = self.circuit.optimizer.weight_decay * lr / self.circuit.optimizer.lr
        self.apply(gW, gb, lr, decay)
        arrays = self.params.arrays(groups=("W", "b", "B"))
        self.rule.after_step(self.params, Step(H, deltas, gW, lr, decay, rng, sent))
        replaced = [k for k, a in self.params.arrays(groups=("W", "b", "B")).items() if arrays.get(k) is not a]
        if replaced:  # a Brian2 circuit's synapses hold views of these arrays: they must change in place
            k = replaced[0]
            raise UserCodeError(
                f"rule {type(self.rule).__name__}: after_step replaced params.{k[0]}[{k[1:]}]; "
                f"change it in place (params.{k[0]}[{k[1:]}][...] = ...)"
            )
        self.constrain_feedback()

    def constrain_feedback(self) -> None:
        """After the rule's hook: every feedback pathway's (and the circuit file's own pathways') missing
        synapses back to 0, its sign kept."""
        if self.structure.constrained:
            self.structure.constrain(self.params.B)
        for k in self.circuit.brian.pathways:
            restore(self.params.links[k.name], k.structure.sign, self.link_masks[k.name])

    def apply(self, gW: list[Gradient], gb: list, lr: float, decay: float) -> None:
        """Momentum SGD with decoupled weight decay on every W; biases at their own rate
        (``optimizer.bias_lr``), without decay."""
        o, p = self.circuit.optimizer, self.params
        cast = p.W[0].dtype.type
        bias_lr = cast(lr * o.bias_scale())
        for l in range(self.L):
            sgd_update(p.W[l], gW[l], p.vW[l], lr, o.momentum, decay)
            sgd_step_vector(p.b[l], gb[l], p.vb[l], bias_lr, cast(o.momentum), cast(0.0))
        if self.forward_structure.constrained:
            self.forward_structure.constrain(p.W)

    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """A weight-mirror phase: noise-driven Hebbian learning of B only (no data, no labels)."""
        self.rule.mirror(self.params, rng, steps, self.mirror_response)

    def mirror_response(self, l: int, x: np.ndarray) -> np.ndarray:
        """Layer l + 1's answer to noise x fired by layer l: its drive x W_lᵀ, or (``rule.mirror.response:
        rate``) its rate f(x W_lᵀ + b_l) through its own nonlinearity."""
        y = x @ self.params.W[l].T
        if self.rule.spec.mirror.response == "rate":
            y += self.params.b[l]
            y = self.f_out(y) if l == self.L - 1 else self.f(y)
        return y

    # --- measurements ---------------------------------------------------------------------------
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[1][-1]

    def comparable_feedback(self) -> dict[int, np.ndarray]:
        """l → B_l for every hidden layer whose feedback has W_lᵀ's shape (layer-by-layer rules)."""
        if self.rule.topology in ("local", "none"):
            return {}
        out = {}
        for l in range(0 if self.circuit.input_feedback else 1, self.L):
            B = self.rule.feedback(l, self.params)
            if l in self.relayed:  # the error reaches layer l through an extra population: B_l · M
                B = self.through(l, B)
            if B is not None and B.shape == self.params.W[l].T.shape:
                out[l] = B
        return out

    def through(self, l: int, B: np.ndarray) -> np.ndarray | None:
        """The feedback into layer l through its extra population P, B_l · M, where M carries the error
        that would otherwise reach layer l (layer l + 1's, or the output's) into P's error compartment;
        None if no such single pathway exists. For a relay that passes its error on linearly this is the
        feedback matrix the hidden layer sees, in expectation."""
        natural = f"layer{l + 1 if self.rule.topology == 'layerwise' else self.L}"
        into = [
            self.params.links[k.name]
            for k in self.circuit.brian.pathways
            if k.target == self.relayed[l] and k.source == natural and k.into == "error"
        ]
        return B @ into[0] if len(into) == 1 else None

    def feedback_angles(self) -> dict[str, float]:
        """angle_B{l}: B_l against W_lᵀ (degrees)."""
        return {f"angle_B{l}": angle(B, self.params.W[l].T) for l, B in self.comparable_feedback().items()}

    def feedback_distances(self) -> dict[str, float]:
        """dist_B{l}: ‖B_l − W_lᵀ‖ (Frobenius), what Kolen–Pollack's decay shrinks as (1 − λ)ᵗ."""
        return {
            f"dist_B{l}": float(np.linalg.norm(B - self.params.W[l].T)) for l, B in self.comparable_feedback().items()
        }

    def update_angles(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """On the batch: angle_E{l}, the effective feedback into hidden layer l through every route
        against backprop's, and angle_dW{l}, the rule's update of W_l against backprop's
        (:func:`spikefa.routes.effective_angles`)."""
        return effective_angles(self, x, y)

    def local_accuracies(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """local_acc{l}: test accuracy of hidden layer l's fixed random classifier, argmax of h_l B_l
        (local classifiers only; Mostafa et al. 2018)."""
        if self.rule.topology != "local":
            return {}
        _, H = self.forward(x)
        return {f"local_acc{l}": accuracy(H[l] @ self.params.B[l], y) for l in range(1, self.L)}

    def norms(self) -> dict[str, float]:
        out = {f"norm_W{l}": float(np.linalg.norm(w)) for l, w in enumerate(self.params.W)}
        out.update({f"norm_B{l}": float(np.linalg.norm(b)) for l, b in enumerate(self.params.B) if b is not None})
        return out

    def nonfinite(self) -> list[str]:
        """Neuron state that holds NaN or ±inf: none here, where activity is computed afresh from the
        weights (whose norms are checked); a Brian2 circuit's populations keep state of their own."""
        return []
