package io.fluostream.learning.flow;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random training batches from pooled examples: square crops at random positions, each
 * randomly mirrored and transposed (the flow components follow: a mirror in x negates u, a
 * transpose swaps u and v), so one simulated pair yields many distinct inputs.
 */
final class FlowBatches {

    private final List<FlowTrainingSet.Example> examples;
    private final int crop;
    private final SplittableRandom rng;
    private final boolean augment;

    FlowBatches(List<FlowTrainingSet.Example> examples, int crop, long seed) {
        this(examples, crop, seed, true);
    }

    /** As above; {@code augment = false} keeps every crop as it is (no mirrors or transposes). */
    FlowBatches(List<FlowTrainingSet.Example> examples, int crop, long seed, boolean augment) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        for (FlowTrainingSet.Example e : examples) {
            if (e.input().height() < crop || e.input().width() < crop) {
                throw new IllegalArgumentException("crop " + crop + " exceeds an example of " + e.input().height() + "x"
                        + e.input().width() + " (a quarter of the resolution)");
            }
        }
        this.examples = examples;
        this.crop = crop;
        this.rng = new SplittableRandom(seed);
        this.augment = augment;
    }

    /** [input B×5×c×c], and labels [residual B×2×c×c, weight B×1×c×c]: data first, then labels. */
    NDList[] next(NDManager manager, int batch) {
        int c = crop;
        int plane = c * c;
        float[] x = new float[batch * RefinerInputs.CHANNELS * plane];
        float[] y = new float[batch * 2 * plane];
        float[] m = new float[batch * plane];
        for (int b = 0; b < batch; b++) {
            FlowTrainingSet.Example e = examples.get(rng.nextInt(examples.size()));
            int h = e.input().height();
            int w = e.input().width();
            int top = rng.nextInt(h - c + 1);
            int left = rng.nextInt(w - c + 1);
            boolean mirrorX = augment && rng.nextBoolean();
            boolean mirrorY = augment && rng.nextBoolean();
            boolean transpose = augment && rng.nextBoolean();
            float[] in = e.input().data();
            float[] res = e.residual().data();
            float[] wt = e.weight().data();
            int n = h * w;
            for (int oy = 0; oy < c; oy++) {
                for (int ox = 0; ox < c; ox++) {
                    // The output pixel's source in the crop, undoing transpose then mirrors.
                    int cy = transpose ? ox : oy;
                    int cx = transpose ? oy : ox;
                    if (mirrorY) {
                        cy = c - 1 - cy;
                    }
                    if (mirrorX) {
                        cx = c - 1 - cx;
                    }
                    int src = (top + cy) * w + left + cx;
                    int dst = oy * c + ox;
                    int xb = b * RefinerInputs.CHANNELS * plane;
                    x[xb + dst] = in[src];
                    x[xb + plane + dst] = in[n + src];
                    x[xb + 2 * plane + dst] = in[2 * n + src];
                    // Flow-like channel pairs (u, v) at 3, 5, 7: mirrors negate, a transpose swaps.
                    for (int pairStart = 3; pairStart < RefinerInputs.CHANNELS; pairStart += 2) {
                        float u = in[pairStart * n + src];
                        float v = in[(pairStart + 1) * n + src];
                        if (mirrorX) {
                            u = -u;
                        }
                        if (mirrorY) {
                            v = -v;
                        }
                        if (transpose) {
                            float t = u;
                            u = v;
                            v = t;
                        }
                        x[xb + pairStart * plane + dst] = u;
                        x[xb + (pairStart + 1) * plane + dst] = v;
                    }
                    float ru = res[src];
                    float rv = res[n + src];
                    if (mirrorX) {
                        ru = -ru;
                    }
                    if (mirrorY) {
                        rv = -rv;
                    }
                    if (transpose) {
                        float t = ru;
                        ru = rv;
                        rv = t;
                    }
                    y[b * 2 * plane + dst] = ru;
                    y[b * 2 * plane + plane + dst] = rv;
                    m[b * plane + dst] = wt[src];
                }
            }
        }
        NDList data = new NDList(manager.create(x, new Shape(batch, RefinerInputs.CHANNELS, c, c)));
        NDList labels = new NDList(manager.create(y, new Shape(batch, 2, c, c)), manager.create(m, new Shape(batch, 1, c, c)));
        return new NDList[] {data, labels};
    }
}
