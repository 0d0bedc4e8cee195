package io.fluostream.learning.flow;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;

/**
 * Training loss of the learned flow estimator: the mean endpoint error {@code |predicted −
 * true residual|} (px) weighted by the pixels with signal, the figure the benchmark scores.
 * Labels are [residual B×2×H×W, weight B×1×H×W]; the prediction is B×2×H×W.
 */
final class MaskedEndpointError extends Loss {

    /** Keeps the gradient of the Euclidean norm finite at 0: a floor of 0.01 px. */
    private static final float EPSILON_SQ = 1e-4f;

    MaskedEndpointError() {
        super("masked_epe");
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray residual = labels.get(0);
        NDArray weight = labels.get(1);
        NDArray diff = predictions.singletonOrThrow().sub(residual);
        NDArray epe = diff.square().sum(new int[] {1}, true).add(EPSILON_SQ).sqrt();
        return epe.mul(weight).sum().div(weight.sum().add(1e-6f));
    }
}
