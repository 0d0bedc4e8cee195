package io.fluostream.learning.flow;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.flow.Warp;
import java.util.Arrays;

/**
 * What the learned estimator's network sees and how its answer returns to full resolution; the
 * same code serves training and inference, so the two cannot drift apart.
 *
 * <p>Input planes, each averaged over {@value #POOL}×{@value #POOL} pixels (a quarter of the
 * resolution, {@code ceil(H/4) × ceil(W/4)}):
 * frame t−1 and frame t warped back by the pyramidal estimate (bilinear), both divided by the
 * 99th percentile of frame t−1 (so intensity scale and photon level do not change the input's
 * range), their difference, the estimate's u and v divided by {@value #FLOW_SCALE}, and for
 * three wide Gaussians ({@link #SMOOTHING_SIGMAS}, pooled px) what smoothing the estimate with them
 * would change ({@code G_σ * f − f}, u and v, also divided by {@value #FLOW_SCALE}). The last
 * are there because the most a network can learn cheaply is how much to smooth: at low light
 * with little motion far wider smoothing than the pyramidal window pays, with large motion it
 * costs accuracy, and the network sees both the motion and the noise. A
 * quarter of the resolution: the pyramidal estimate's errors are smooth over tens of pixels,
 * averaging 16 pixels quarters the Poisson noise, and the network costs 1/16 of what it would at
 * full resolution (it must train on two CPU cores in minutes).
 *
 * <p>Pooled pixel {@code (i, j)} covers full-resolution pixels {@code 4i..4i+3} ×
 * {@code 4j..4j+3}: its centre is {@code (4i + 1.5, 4j + 1.5)}; the residual is interpolated back
 * bilinearly about those centres.
 */
final class RefinerInputs {

    /** Input channels. */
    static final int CHANNELS = 11;
    /** σ of the smoothed-estimate channels, pooled px (16, 32 and 64 full-resolution px). */
    static final double[] SMOOTHING_SIGMAS = {4, 8, 16};
    /** Index of the first smoothed-estimate channel (then u, v for each σ). */
    static final int FIRST_SMOOTHING = 5;
    /** Side of the square of full-resolution pixels one input pixel averages. */
    static final int POOL = 4;
    /** Flow inputs are divided by this (px) to be of order 1. */
    static final float FLOW_SCALE = 4f;
    /** Offset of a pooled pixel's centre from its first full-resolution pixel. */
    private static final float CENTRE = (POOL - 1) / 2f;
    /** Percentile of frame t−1 that the frames are divided by. */
    static final double SCALE_PERCENTILE = 99.0;

    private RefinerInputs() {
    }

    /** Pooled size of a full-resolution side of {@code n} px. */
    static int pooled(int n) {
        return (n + POOL - 1) / POOL;
    }

    /** The {@value #CHANNELS} input planes, pooled. */
    static Image build(Image previous, Image next, FlowField estimate) {
        int h = previous.height();
        int w = previous.width();
        Image warped = Warp.bilinear(next, estimate);
        float scale = (float) (1.0 / intensityScale(previous));
        int h2 = pooled(h);
        int w2 = pooled(w);
        int m = h2 * w2;
        Image out = new Image(CHANNELS, h2, w2);
        float[] o = out.data();
        pool(previous.data(), 0, h, w, o, 0, scale);
        pool(warped.data(), 0, h, w, o, m, scale);
        for (int i = 0; i < m; i++) {
            o[2 * m + i] = o[m + i] - o[i];
        }
        float[] f = estimate.asImage().data();
        pool(f, 0, h, w, o, 3 * m, 1f / FLOW_SCALE);
        pool(f, h * w, h, w, o, 4 * m, 1f / FLOW_SCALE);
        for (int k = 0; k < SMOOTHING_SIGMAS.length; k++) {
            for (int c = 0; c < 2; c++) {
                int from = (3 + c) * m;
                int to = (5 + 2 * k + c) * m;
                gaussian(o, from, h2, w2, SMOOTHING_SIGMAS[k], o, to);
                for (int i = 0; i < m; i++) {
                    o[to + i] -= o[from + i];
                }
            }
        }
        return out;
    }

    /** The residual {@code truth − estimate}, pooled ({@code 2 × h2 × w2}, px). */
    static Image residual(FlowField truth, FlowField estimate) {
        int h = truth.height();
        int w = truth.width();
        int n = h * w;
        float[] t = truth.asImage().data();
        float[] e = estimate.asImage().data();
        float[] r = new float[2 * n];
        for (int i = 0; i < 2 * n; i++) {
            r[i] = t[i] - e[i];
        }
        int m = pooled(h) * pooled(w);
        Image out = new Image(2, pooled(h), pooled(w));
        pool(r, 0, h, w, out.data(), 0, 1f);
        pool(r, n, h, w, out.data(), m, 1f);
        return out;
    }

    /** The fraction of each pooled cell's pixels in the mask ({@code 1 × h2 × w2}). */
    static Image mask(SignalMask mask) {
        int h = mask.height();
        int w = mask.width();
        float[] in = new float[h * w];
        for (int i = 0; i < in.length; i++) {
            in[i] = mask.contains(i) ? 1f : 0f;
        }
        Image out = new Image(1, pooled(h), pooled(w));
        pool(in, 0, h, w, out.data(), 0, 1f);
        return out;
    }

    /**
     * Adds a pooled residual ({@code 2 × ceil(H/4) × ceil(W/4)}, px) to {@code field},
     * interpolated bilinearly about the pooled pixel centres (clamped at the edges).
     */
    static void addResidual(float[] residual, FlowField field) {
        int h = field.height();
        int w = field.width();
        int n = h * w;
        int h2 = pooled(h);
        int w2 = pooled(w);
        int m = h2 * w2;
        float[] f = field.asImage().data();
        for (int y = 0; y < h; y++) {
            float cy = Math.min(Math.max((y - CENTRE) / POOL, 0f), h2 - 1);
            int y0 = Math.min((int) cy, Math.max(h2 - 2, 0));
            int y1 = Math.min(y0 + 1, h2 - 1);
            float fy = cy - y0;
            for (int x = 0; x < w; x++) {
                float cx = Math.min(Math.max((x - CENTRE) / POOL, 0f), w2 - 1);
                int x0 = Math.min((int) cx, Math.max(w2 - 2, 0));
                int x1 = Math.min(x0 + 1, w2 - 1);
                float fx = cx - x0;
                for (int c = 0; c < 2; c++) {
                    int o = c * m;
                    float top = residual[o + y0 * w2 + x0] * (1 - fx) + residual[o + y0 * w2 + x1] * fx;
                    float bottom = residual[o + y1 * w2 + x0] * (1 - fx) + residual[o + y1 * w2 + x1] * fx;
                    f[c * n + y * w + x] += top * (1 - fy) + bottom * fy;
                }
            }
        }
    }

    /**
     * Gaussian blur (σ px, kernel to 3σ renormalised, edges replicated) of the {@code h × w}
     * plane at {@code from} in {@code src} into the plane at {@code to} in {@code dst}.
     */
    static void gaussian(float[] src, int from, int h, int w, double sigma, float[] dst, int to) {
        int r = (int) Math.ceil(3 * sigma);
        float[] k = new float[2 * r + 1];
        double sum = 0;
        for (int j = -r; j <= r; j++) {
            sum += Math.exp(-0.5 * j * j / (sigma * sigma));
        }
        for (int j = -r; j <= r; j++) {
            k[j + r] = (float) (Math.exp(-0.5 * j * j / (sigma * sigma)) / sum);
        }
        // Loops run along rows (x innermost) so every access is sequential.
        float[] tmp = new float[h * w];
        for (int y = 0; y < h; y++) {
            int row = y * w;
            for (int j = -r; j <= r; j++) {
                float kj = k[j + r];
                int src0 = from + Math.min(Math.max(y + j, 0), h - 1) * w;
                for (int x = 0; x < w; x++) {
                    tmp[row + x] += kj * src[src0 + x];
                }
            }
        }
        float[] padded = new float[w + 2 * r];
        for (int y = 0; y < h; y++) {
            int row = y * w;
            System.arraycopy(tmp, row, padded, r, w);
            for (int j = 0; j < r; j++) {
                padded[j] = tmp[row];
                padded[r + w + j] = tmp[row + w - 1];
            }
            int out = to + row;
            for (int x = 0; x < w; x++) {
                dst[out + x] = 0f;
            }
            for (int j = 0; j <= 2 * r; j++) {
                float kj = k[j];
                for (int x = 0; x < w; x++) {
                    dst[out + x] += kj * padded[x + j];
                }
            }
        }
    }

    /**
     * The {@value #SCALE_PERCENTILE}th percentile of a frame (from every 3rd pixel), or 1 when that
     * is not positive (a dark frame: the inputs are then its raw values).
     */
    static double intensityScale(Image frame) {
        float[] d = frame.data();
        int step = d.length > 3000 ? 3 : 1;
        float[] sample = new float[(d.length + step - 1) / step];
        for (int i = 0, k = 0; i < d.length; i += step, k++) {
            sample[k] = d[i];
        }
        Arrays.sort(sample);
        double p = sample[Math.min(sample.length - 1, (int) Math.floor(SCALE_PERCENTILE / 100.0 * sample.length))];
        return p > 0 && Double.isFinite(p) ? p : 1.0;
    }

    /** {@value #POOL}×{@value #POOL} average of the plane at {@code from} into the pooled plane at {@code to}, times {@code scale}. */
    private static void pool(float[] src, int from, int h, int w, float[] dst, int to, float scale) {
        int h2 = pooled(h);
        int w2 = pooled(w);
        float norm = scale / (POOL * POOL);
        for (int i = 0; i < h2; i++) {
            for (int j = 0; j < w2; j++) {
                float s = 0;
                for (int dy = 0; dy < POOL; dy++) {
                    int row = from + Math.min(POOL * i + dy, h - 1) * w;
                    for (int dx = 0; dx < POOL; dx++) {
                        s += src[row + Math.min(POOL * j + dx, w - 1)];
                    }
                }
                dst[to + i * w2 + j] = norm * s;
            }
        }
    }
}
