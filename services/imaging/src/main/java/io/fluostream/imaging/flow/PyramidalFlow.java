package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import java.util.Arrays;

/**
 * Dense, coarse-to-fine (pyramidal) iterative Lucas–Kanade optical flow with a Gaussian window and
 * confidence-weighted smoothing: forward flow from {@code previous} to {@code next} on
 * {@code previous}'s grid, px/frame (see {@link FlowField}).
 *
 * <p>Method. Both frames are pre-smoothed and reduced into a Gaussian pyramid. At each level,
 * coarsest first, the flow from the level above (doubled) is refined by Gauss–Newton steps: the
 * next frame is warped onto the previous frame's grid by the current flow and at every pixel the
 * 2×2 system {@code (A + λI) Δ = −b} is solved, with {@code A = G_σ * (∇I ∇Iᵀ)} the
 * Gaussian-windowed structure tensor of the previous frame and
 * {@code b = G_σ * (∇I · (warped next − previous))}. Every pixel is warped by its own flow (not by
 * its window's centre flow), so the fixed point is exact for any smooth field, not only for
 * translations. {@code λ = regularisation × mean(|∇I|²)/2}, the mean taken with the top 0.5%
 * clipped so hot pixels cannot inflate it, is scale-free and keeps flat regions from dividing by
 * zero. After each step the field is smoothed by normalised convolution with weights
 * {@code c = λmin(A)/(λmin(A) + λ)}: textured pixels keep their estimate, flat ones are filled in
 * from textured neighbours, and pixels with no textured neighbour within about
 * {@code 3 × smoothingSigma} report exactly 0. The finest computed level samples the warp
 * bicubically (Keys): bilinear's interpolation error alone biased the flow by ~0.05 px on test
 * texture, ten times the bicubic error; coarser levels only seed the next one and sample
 * bilinearly. With {@code finestLevel > 0} the flow is computed down to that level and then only
 * interpolated to full resolution: smooth tissue flow loses nothing at half resolution while
 * every plane there is a quarter of the size.
 *
 * <p>Wide windows cost no more than narrow ones: blurs wider than a few pixels run on a grid
 * reduced by factors of 2 and are interpolated back ({@link WideGaussian}). The pyramids are
 * {@link ImagePyramid}s, which a caller estimating both directions of a pair (see
 * {@link ConsistentFlow}) builds once and shares.
 *
 * <p>Why this method: motion in cell mechanobiology is smooth, so a local model fits and the
 * window plus smoothing average Poisson noise down (smoothing after every step, not once per level,
 * keeps the iterations from fitting noise); the structure tensor and its inverse are computed once
 * per level, so a step costs one warp and four separable blurs; and every loop is over primitive
 * rows that a multi-threaded or device path can split. Horn–Schunck/Brox need hundreds of solver
 * sweeps for the same smoothness; Farnebäck needs five blurred planes per step.
 *
 * <p>Accuracy (see {@code PyramidalFlowTest}): on noise-free band-limited texture, mean endpoint
 * error ~0.005 px for translations (0.1–10 px) and ~0.02–0.05 px for smooth vortex/source fields
 * of 2–4 px; with Poisson noise at a peak of 20 photons the error floor is ~0.3 px, set by how
 * many pixels the window and smoothing average. The {@link Settings#lowLight()} preset on
 * forward-model streams: ~0.2 px at 20 e⁻ and ~0.45 px at 5 e⁻ for 4 px/frame motion (see
 * {@code ./fluostream bench flow}); computed at half resolution it gives up some clean-texture
 * precision (~0.04 px instead of ~0.005 px for translations).
 *
 * <p>Inputs: two single-channel, offset-free, registered frames of one shape (sum the label
 * channels first), finite values. An instance owns scratch planes sized for the last frame shape
 * it saw and reuses them: it is not thread-safe (use one per stream thread).
 */
public final class PyramidalFlow implements OpticalFlow {

    /**
     * Estimator settings.
     *
     * @param levels         pyramid levels (1 = none); fewer are used when the frame is small (the
     *                       coarsest level keeps at least {@value #MIN_LEVEL_SIZE} px a side). Each
     *                       level doubles the largest motion caught (~1.5 px at the coarsest)
     * @param windowSigma    σ of the Gaussian Lucas–Kanade window, full-resolution px at the finest
     *                       computed level and the same number of level px above it: larger averages
     *                       more noise away but blurs flow detail
     * @param iterations     Gauss–Newton steps per level (fixed, so the cost per frame is too)
     * @param regularisation λ as a fraction of half the mean gradient energy (= the mean trace of
     *                       the structure tensor), with the top 0.5% clipped
     * @param smoothingSigma σ of the confidence-weighted smoothing after each step, px; 0 = none
     *                       (then flat regions keep what the coarser level gave)
     * @param presmoothSigma σ of the Gaussian applied to both frames first, px; 0 = none
     * @param finestLevel    the finest pyramid level the flow is computed at (0 = full resolution);
     *                       finer levels only interpolate it (bilinearly). Smooth flow loses nothing
     *                       at level 1 and the cost falls ~4×; clamped to the levels in use
     */
    public record Settings(int levels, double windowSigma, int iterations, double regularisation,
                           double smoothingSigma, double presmoothSigma, int finestLevel) {

        public Settings {
            if (levels < 1 || levels > 12) {
                throw new IllegalArgumentException("pyramid levels must be in 1..12, got " + levels);
            }
            if (!(windowSigma > 0) || !Double.isFinite(windowSigma)) {
                throw new IllegalArgumentException("window sigma must be positive, got " + windowSigma);
            }
            if (iterations < 1) {
                throw new IllegalArgumentException("iterations must be >= 1, got " + iterations);
            }
            if (!(regularisation > 0) || !Double.isFinite(regularisation)) {
                throw new IllegalArgumentException("regularisation must be positive, got " + regularisation);
            }
            if (!(smoothingSigma >= 0) || !Double.isFinite(smoothingSigma)) {
                throw new IllegalArgumentException("smoothing sigma must be >= 0, got " + smoothingSigma);
            }
            if (!(presmoothSigma >= 0) || !Double.isFinite(presmoothSigma)) {
                throw new IllegalArgumentException("presmooth sigma must be >= 0, got " + presmoothSigma);
            }
            if (finestLevel < 0 || finestLevel > 11) {
                throw new IllegalArgumentException("finest level must be in 0..11, got " + finestLevel);
            }
        }

        /**
         * Four levels (motions up to ~10 px), σ = 3 px window and smoothing, 3 steps per level,
         * λ = 1% of the mean tensor trace, σ = 1 px pre-smoothing: chosen on the test scenes for
         * ≤ 0.05 px error on clean smooth fields with the best noise floor at that cost.
         */
        public static Settings defaults() {
            return new Settings(4, 3.0, 3, 0.01, 3.0, 1.0, 0);
        }

        /**
         * For low-light streams of smooth tissue motion (the flow stage's defaults): a 16 px window
         * and 8 px smoothing (full-resolution px), the flow computed at half resolution (finest
         * level 1) and interpolated back, 0.5 px pre-smoothing. Chosen on simulated 256×256
         * streams with 1–10 px/frame motion at 5–100 e⁻ (see {@code ./fluostream bench flow}):
         * against σ = 10/16 px at full resolution, the endpoint error falls by 10–30% at every
         * light level and the cost by ~5×; 0.5 px pre-smoothing beat 1 px by ~5% at 5–20 e⁻ (the
         * reduction to half resolution already averages the noise; more blur only costs texture).
         */
        public static Settings lowLight() {
            return new Settings(4, 16.0, 3, 0.01, 8.0, 0.5, 1);
        }

        public Settings withLevels(int v) {
            return new Settings(v, windowSigma, iterations, regularisation, smoothingSigma, presmoothSigma, finestLevel);
        }

        public Settings withWindowSigma(double v) {
            return new Settings(levels, v, iterations, regularisation, smoothingSigma, presmoothSigma, finestLevel);
        }

        public Settings withIterations(int v) {
            return new Settings(levels, windowSigma, v, regularisation, smoothingSigma, presmoothSigma, finestLevel);
        }

        public Settings withRegularisation(double v) {
            return new Settings(levels, windowSigma, iterations, v, smoothingSigma, presmoothSigma, finestLevel);
        }

        public Settings withSmoothingSigma(double v) {
            return new Settings(levels, windowSigma, iterations, regularisation, v, presmoothSigma, finestLevel);
        }

        public Settings withFinestLevel(int v) {
            return new Settings(levels, windowSigma, iterations, regularisation, smoothingSigma, presmoothSigma, v);
        }

        public Settings withPresmoothSigma(double v) {
            return new Settings(levels, windowSigma, iterations, regularisation, smoothingSigma, v, finestLevel);
        }
    }

    /** Smallest side of the coarsest pyramid level, px. */
    public static final int MIN_LEVEL_SIZE = 16;

    /** Normalised-convolution floor: below this much confident neighbourhood the flow fades to 0. */
    private static final float MIN_NEIGHBOUR_WEIGHT = 1e-2f;
    /** Float bits dropped for the gradient-energy histogram: keeps sign-free exponent + 4 mantissa bits. */
    private static final int HISTOGRAM_SHIFT = 19;
    /** σ of the anti-alias blur before each factor-2 reduction, px of the finer level. */
    private static final double REDUCE_SIGMA = 1.0;

    private final Settings settings;
    private final SeparableGaussian presmooth;
    private final SeparableGaussian reduce;
    private final SeparableGaussian firstReduction;

    private int height;
    private int width;
    /** Levels in use for the last frame shape, and the finest one the flow is computed at. */
    private int levels;
    private int finest;
    private Level[] pyramid = new Level[0];
    /** Window and smoothing blurs per level (each plans its coarse grids for one shape). */
    private WideGaussian[] window;
    private WideGaussian[] smoothing;
    /** Pyramids of the two frames when {@link #estimate(Image, Image, FlowField)} builds its own. */
    private ImagePyramid ownFrom;
    private ImagePyramid ownTo;
    /** Scratch planes (rows) of the finest computed level's shape, shared by all levels. */
    private float[][] t0;
    private float[][] t1;
    private float[][] t2;
    private float[][] t3;
    /** Histogram of gradient energy by float exponent and top 4 mantissa bits (λ's scale). */
    private final int[] energyHistogram = new int[1 << (31 - HISTOGRAM_SHIFT)];
    /** Row scratch for upsampling. */
    private float[] rowA;
    private float[] rowB;

    public PyramidalFlow() {
        this(Settings.defaults());
    }

    public PyramidalFlow(Settings settings) {
        this.settings = settings;
        this.presmooth = settings.presmoothSigma() > 0 ? new SeparableGaussian(settings.presmoothSigma()) : null;
        this.reduce = new SeparableGaussian(REDUCE_SIGMA);
        this.firstReduction = new SeparableGaussian(Math.hypot(REDUCE_SIGMA, settings.presmoothSigma()));
    }

    public Settings settings() {
        return settings;
    }

    @Override
    public void estimate(Image previous, Image next, FlowField out) {
        requireFrames(previous, next);
        if (out.height() != previous.height() || out.width() != previous.width()) {
            throw new IllegalArgumentException("output " + out + " does not match frames " + previous);
        }
        prepare(previous.height(), previous.width());
        if (ownFrom == null || !ownFrom.fits(height, width, levels, finest)) {
            ownFrom = newPyramid(height, width);
            ownTo = newPyramid(height, width);
        }
        buildPyramid(previous, ownFrom);
        buildPyramid(next, ownTo);
        estimate(ownFrom, ownTo, out);
    }

    /** A pyramid shaped for this estimator's settings and the frame shape. */
    ImagePyramid newPyramid(int h, int w) {
        prepare(h, w);
        return new ImagePyramid(h, w, levels, finest);
    }

    /** Fills {@code pyramid} (from {@link #newPyramid}) from a frame, as this estimator needs it. */
    void buildPyramid(Image frame, ImagePyramid pyramid) {
        pyramid.build(frame, presmooth, firstReduction, reduce);
    }

    /**
     * Estimates the flow from the frame of {@code from} to that of {@code to} into {@code out}: the
     * pyramids come from {@link #newPyramid} and {@link #buildPyramid}, so a caller can share them
     * between the two directions of a pair and between consecutive pairs of a stream.
     */
    void estimate(ImagePyramid from, ImagePyramid to, FlowField out) {
        prepare(from.h[0], from.w[0]);
        if (!from.fits(height, width, levels, finest) || !to.fits(height, width, levels, finest)) {
            throw new IllegalArgumentException("pyramids do not fit this estimator's settings and frame shape");
        }
        Level coarsest = pyramid[levels - 1];
        RowPlanes.fill(coarsest.u, coarsest.h, coarsest.w, 0f);
        RowPlanes.fill(coarsest.v, coarsest.h, coarsest.w, 0f);
        for (int k = levels - 1; k >= finest; k--) {
            if (k < levels - 1) {
                upsampleFlow(pyramid[k + 1], pyramid[k]);
            }
            // Coarse levels only seed the next one: bilinear is enough there; the finest computed
            // level samples bicubically for sub-pixel accuracy.
            refine(k, from, to, k == finest);
        }
        for (int k = finest - 1; k >= 0; k--) {
            upsampleFlow(pyramid[k + 1], pyramid[k]);
        }
        Level fine = pyramid[0];
        float[] o = out.asImage().data();
        RowPlanes.toFlat(fine.u, height, width, o, 0);
        RowPlanes.toFlat(fine.v, height, width, o, height * width);
    }

    /**
     * The texture support of the last estimate, at full resolution, into {@code out} ({@code 1×H×W}):
     * the Gaussian-weighted fraction (0–1) of the smoothing neighbourhood whose structure tensor is
     * well conditioned, i.e. how much of the flow at a pixel was measured rather than filled in
     * from afar. 0 everywhere when the frame was flat. Needs smoothing ({@code smoothingSigma > 0});
     * without it, the pixel's own weight.
     */
    public void textureSupport(Image out) {
        if (out.channels() != 1 || out.height() != height || out.width() != width) {
            throw new IllegalArgumentException("texture support needs a 1x" + height + "x" + width + " plane, got " + out);
        }
        Level f = pyramid[finest];
        if (f.flat) {
            Arrays.fill(out.data(), 0f);
            return;
        }
        float[][] cur = smoothing[finest] != null ? f.weightSum : f.weight;
        int ch = f.h;
        int cw = f.w;
        for (int k = finest - 1; k >= 0; k--) {
            Level target = pyramid[k];
            upsamplePlane(cur, ch, cw, target.scratch, target.h, target.w);
            cur = target.scratch;
            ch = target.h;
            cw = target.w;
        }
        RowPlanes.toFlat(cur, height, width, out.data(), 0);
    }

    /** Gauss–Newton steps on level k's flow, each followed by confidence-weighted smoothing. */
    private void refine(int k, ImagePyramid from, ImagePyramid to, boolean cubic) {
        Level lv = pyramid[k];
        int h = lv.h;
        int w = lv.w;
        WideGaussian win = window[k];
        WideGaussian smooth = smoothing[k];
        lv.flat = !structureTensor(lv, from.ix[k], from.iy[k], win);
        if (lv.flat) {
            // A perfectly flat level carries no motion information: the flow there is 0.
            RowPlanes.fill(lv.u, h, w, 0f);
            RowPlanes.fill(lv.v, h, w, 0f);
            return;
        }
        if (smooth != null) {
            smooth.apply(lv.weight, lv.weightSum, h, w);
        }
        for (int it = 0; it < settings.iterations(); it++) {
            // Bicubic only on the last step: earlier steps move the flow by more than its
            // interpolation bias, so bilinear serves them at a third of the cost.
            boolean lastStep = it == settings.iterations() - 1;
            warpedProducts(lv, from.image[k], from.ix[k], from.iy[k], to.padded[k], cubic && lastStep);
            win.apply(t0, t2, h, w);
            win.apply(t1, t3, h, w);
            for (int y = 0; y < h; y++) {
                float[] ia = lv.ia[y];
                float[] ib = lv.ib[y];
                float[] ic = lv.ic[y];
                float[] bx = t2[y];
                float[] by = t3[y];
                float[] u = lv.u[y];
                float[] v = lv.v[y];
                for (int x = 0; x < w; x++) {
                    u[x] -= ia[x] * bx[x] + ib[x] * by[x];
                    v[x] -= ib[x] * bx[x] + ic[x] * by[x];
                }
            }
            if (smooth != null) {
                smoothByConfidence(lv, smooth);
            }
        }
    }

    /**
     * Windowed structure tensor, its regularised inverse and the confidence weight; false when
     * the level is flat (no gradient anywhere).
     */
    private boolean structureTensor(Level lv, float[][] gx, float[][] gy, WideGaussian win) {
        int h = lv.h;
        int w = lv.w;
        for (int y = 0; y < h; y++) {
            float[] ix = gx[y];
            float[] iy = gy[y];
            float[] xx = t0[y];
            float[] xy = t1[y];
            float[] yy = t2[y];
            for (int x = 0; x < w; x++) {
                xx[x] = ix[x] * ix[x];
                xy[x] = ix[x] * iy[x];
                yy[x] = iy[x] * iy[x];
            }
        }
        double lambda = settings.regularisation() * 0.5 * robustGradientEnergy(h, w);
        if (!(lambda > 0) || !Double.isFinite(lambda)) {
            return false;
        }
        win.apply(t0, lv.ia, h, w);
        win.apply(t1, lv.ib, h, w);
        win.apply(t2, lv.ic, h, w);
        float lam = (float) lambda;
        for (int y = 0; y < h; y++) {
            float[] ia = lv.ia[y];
            float[] ib = lv.ib[y];
            float[] ic = lv.ic[y];
            float[] weight = lv.weight[y];
            // Float throughout so the loop vectorises. det(A + λI) = det A + λ(trace A + λ), with
            // det A ≥ 0 in exact arithmetic: clamping its rounded value keeps det ≥ λ² > 0 even
            // where one bright speck makes the local tensor 10⁴ times the mean.
            for (int x = 0; x < w; x++) {
                float a = ia[x];
                float b = ib[x];
                float c = ic[x];
                float half = 0.5f * (a + c);
                float diff = 0.5f * (a - c);
                float disc = (float) Math.sqrt(diff * diff + b * b);
                float minEigen = Math.max(half - disc, 0f);
                weight[x] = minEigen / (minEigen + lam);
                float invDet = 1f / (Math.max(a * c - b * b, 0f) + lam * (a + c + lam));
                ia[x] = (c + lam) * invDet;
                ib[x] = -b * invDet;
                ic[x] = (a + lam) * invDet;
            }
        }
        return true;
    }

    /**
     * Mean of {@code |∇I|² = t0 + t2} over the level with values above the 99.5th percentile
     * clipped to it. The plain mean (which equals the mean trace of the windowed tensor) lets a
     * few saturated pixels, whose gradients are 10³ times the texture's, raise λ until the flow
     * is 0 everywhere; clipping the top 0.5% removes them and barely moves the mean of real
     * texture. The percentile comes from a histogram of the float bits (exponent and 4 mantissa
     * bits: 1/16-octave bins), which needs no range and no sort.
     */
    private double robustGradientEnergy(int h, int w) {
        int[] hist = energyHistogram;
        Arrays.fill(hist, 0);
        for (int y = 0; y < h; y++) {
            float[] xx = t0[y];
            float[] yy = t2[y];
            for (int x = 0; x < w; x++) {
                hist[Float.floatToRawIntBits(xx[x] + yy[x]) >>> HISTOGRAM_SHIFT]++;
            }
        }
        long target = (long) Math.ceil(0.995 * h * w);
        long seen = 0;
        int bin = 0;
        while (bin < hist.length - 1 && (seen += hist[bin]) < target) {
            bin++;
        }
        float clip = Float.intBitsToFloat((bin + 1) << HISTOGRAM_SHIFT);
        double sum = 0;
        for (int y = 0; y < h; y++) {
            float[] xx = t0[y];
            float[] yy = t2[y];
            for (int x = 0; x < w; x++) {
                sum += Math.min(xx[x] + yy[x], clip);
            }
        }
        return sum / ((double) h * w);
    }

    /**
     * Warps the next frame by the current flow and writes {@code t0 = Ix·It},
     * {@code t1 = Iy·It} with {@code It = warped next − previous}; pixels whose sample falls
     * outside the frame contribute nothing. Samples come from the padded copy, so the 4×4 (or 2×2)
     * neighbourhood of any in-frame position needs no clamping.
     */
    private void warpedProducts(Level lv, float[][] image, float[][] gx, float[][] gy, float[] p, boolean cubic) {
        int h = lv.h;
        int w = lv.w;
        int pad = ImagePyramid.PAD;
        int pw = w + 2 * pad;
        float maxX = w - 1;
        float maxY = h - 1;
        for (int y = 0; y < h; y++) {
            float[] i1 = image[y];
            float[] u = lv.u[y];
            float[] v = lv.v[y];
            float[] ix = gx[y];
            float[] iy = gy[y];
            float[] px = t0[y];
            float[] py = t1[y];
            for (int x = 0; x < w; x++) {
                float sx = x + u[x];
                float sy = y + v[x];
                float it = 0f;
                if (sx >= 0f && sy >= 0f && sx <= maxX && sy <= maxY) {
                    int x0 = (int) sx;
                    int y0 = (int) sy;
                    float fx = sx - x0;
                    float fy = sy - y0;
                    float sample;
                    if (cubic) {
                        sample = bicubic(p, (y0 + pad - 1) * pw + x0 + pad - 1, pw, fx, fy);
                    } else {
                        int q = (y0 + pad) * pw + x0 + pad;
                        float top = p[q] + fx * (p[q + 1] - p[q]);
                        float bottom = p[q + pw] + fx * (p[q + pw + 1] - p[q + pw]);
                        sample = top + fy * (bottom - top);
                    }
                    it = sample - i1[x];
                }
                px[x] = ix[x] * it;
                py[x] = iy[x] * it;
            }
        }
    }

    /**
     * Keys cubic convolution (a = −½) over the 4×4 samples whose top-left is {@code p[q]}, at
     * fraction {@code (fx, fy)} past the second sample. Its error is third order in the pixel size,
     * where bilinear's second-order error (up to 1/8 px² × the curvature) biases the flow by a few
     * hundredths of a pixel on fine texture.
     */
    private static float bicubic(float[] p, int q, int stride, float fx, float fy) {
        float wx0 = fx * (-0.5f + fx * (1f - 0.5f * fx));
        float wx1 = 1f + fx * fx * (1.5f * fx - 2.5f);
        float wx2 = fx * (0.5f + fx * (2f - 1.5f * fx));
        float wx3 = fx * fx * (0.5f * fx - 0.5f);
        float wy0 = fy * (-0.5f + fy * (1f - 0.5f * fy));
        float wy1 = 1f + fy * fy * (1.5f * fy - 2.5f);
        float wy2 = fy * (0.5f + fy * (2f - 1.5f * fy));
        float wy3 = fy * fy * (0.5f * fy - 0.5f);
        float r0 = wx0 * p[q] + wx1 * p[q + 1] + wx2 * p[q + 2] + wx3 * p[q + 3];
        q += stride;
        float r1 = wx0 * p[q] + wx1 * p[q + 1] + wx2 * p[q + 2] + wx3 * p[q + 3];
        q += stride;
        float r2 = wx0 * p[q] + wx1 * p[q + 1] + wx2 * p[q + 2] + wx3 * p[q + 3];
        q += stride;
        float r3 = wx0 * p[q] + wx1 * p[q + 1] + wx2 * p[q + 2] + wx3 * p[q + 3];
        return wy0 * r0 + wy1 * r1 + wy2 * r2 + wy3 * r3;
    }

    /** Normalised convolution of the flow with the confidence weights (see the class comment). */
    private void smoothByConfidence(Level lv, WideGaussian smooth) {
        int h = lv.h;
        int w = lv.w;
        for (int y = 0; y < h; y++) {
            float[] wt = lv.weight[y];
            float[] u = lv.u[y];
            float[] v = lv.v[y];
            float[] wu = t0[y];
            float[] wv = t1[y];
            for (int x = 0; x < w; x++) {
                wu[x] = wt[x] * u[x];
                wv[x] = wt[x] * v[x];
            }
        }
        smooth.apply(t0, t2, h, w);
        smooth.apply(t1, t3, h, w);
        for (int y = 0; y < h; y++) {
            float[] sum = lv.weightSum[y];
            float[] su = t2[y];
            float[] sv = t3[y];
            float[] u = lv.u[y];
            float[] v = lv.v[y];
            for (int x = 0; x < w; x++) {
                float norm = 1f / Math.max(sum[x], MIN_NEIGHBOUR_WEIGHT);
                u[x] = su[x] * norm;
                v[x] = sv[x] * norm;
            }
        }
    }

    /** Upsamples the coarser level's flow onto the finer level's grid, doubled (px of the finer level). */
    private void upsampleFlow(Level coarse, Level fine) {
        upsamplePlane(coarse.u, coarse.h, coarse.w, fine.u, fine.h, fine.w);
        upsamplePlane(coarse.v, coarse.h, coarse.w, fine.v, fine.h, fine.w);
        for (int y = 0; y < fine.h; y++) {
            float[] u = fine.u[y];
            float[] v = fine.v[y];
            for (int x = 0; x < fine.w; x++) {
                u[x] *= 2f;
                v[x] *= 2f;
            }
        }
    }

    /** Bilinear upsampling of a plane onto the grid twice as dense (see {@link WideGaussian}). */
    private void upsamplePlane(float[][] coarse, int ch, int cw, float[][] fine, int fh, int fw) {
        WideGaussian.upsample(coarse, ch, cw, fine, fh, fw, rowA, rowB);
    }

    /** (Re)allocates the levels, blurs and scratch planes when the frame shape changes. */
    private void prepare(int h, int w) {
        if (h == height && w == width && pyramid.length > 0) {
            return;
        }
        int n = 1;
        int lh = h;
        int lw = w;
        while (n < settings.levels()) {
            int nh = (lh + 1) / 2;
            int nw = (lw + 1) / 2;
            if (Math.min(nh, nw) < MIN_LEVEL_SIZE) {
                break;
            }
            lh = nh;
            lw = nw;
            n++;
        }
        int f = Math.min(settings.finestLevel(), n - 1);
        Level[] p = new Level[n];
        window = new WideGaussian[n];
        smoothing = new WideGaussian[n];
        // Sigmas are full-resolution pixels at the finest computed level (a pixel there is 2^f of
        // them) and the same number of level pixels above it, so coarse levels see wider context.
        double scale = 1.0 / (1 << f);
        lh = h;
        lw = w;
        for (int k = 0; k < n; k++) {
            p[k] = new Level(lh, lw, k >= f);
            if (k >= f) {
                window[k] = new WideGaussian(settings.windowSigma() * scale);
                smoothing[k] = settings.smoothingSigma() > 0 ? new WideGaussian(settings.smoothingSigma() * scale) : null;
            }
            lh = (lh + 1) / 2;
            lw = (lw + 1) / 2;
        }
        pyramid = p;
        levels = n;
        finest = f;
        height = h;
        width = w;
        int sh = p[f].h;
        int sw = p[f].w;
        t0 = RowPlanes.allocate(sh, sw);
        t1 = RowPlanes.allocate(sh, sw);
        t2 = RowPlanes.allocate(sh, sw);
        t3 = RowPlanes.allocate(sh, sw);
        rowA = new float[w];
        rowB = new float[w];
    }

    /** Number of pyramid levels used for the last frame shape (after the size limit). */
    int levelsInUse() {
        return levels;
    }

    /** The level the flow was computed at last for the last frame shape (then only upsampled). */
    int finestLevelInUse() {
        return finest;
    }

    static void requireFrames(Image previous, Image next) {
        requireFrame(previous, "previous");
        requireFrame(next, "next");
        if (previous.height() != next.height() || previous.width() != next.width()) {
            throw new IllegalArgumentException("frames differ in shape: previous " + previous + ", next " + next
                    + "; flow needs two frames of one stream at one size");
        }
    }

    private static void requireFrame(Image frame, String name) {
        if (frame.channels() != 1) {
            throw new IllegalArgumentException(name + " frame must be single-channel (sum the label channels first), got "
                    + frame);
        }
        float[] d = frame.data();
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                throw new IllegalArgumentException(name + " frame has a non-finite sample " + d[i] + " at row "
                        + (i / frame.width()) + ", column " + (i % frame.width()));
            }
        }
    }

    /** The flow estimate and solver planes (one array per row) of one pyramid level. */
    private static final class Level {
        final int h;
        final int w;
        /** Regularised inverse of the windowed structure tensor: [[ia, ib], [ib, ic]]. */
        final float[][] ia;
        final float[][] ib;
        final float[][] ic;
        /** Confidence weight and its blur (the normalised-convolution denominator). */
        final float[][] weight;
        final float[][] weightSum;
        /** Flow in this level's pixels. */
        final float[][] u;
        final float[][] v;
        /** Upsampling scratch for levels the flow is not computed at. */
        final float[][] scratch;
        /** Whether the level had no gradient at all at the last estimate. */
        boolean flat;

        Level(int h, int w, boolean computed) {
            this.h = h;
            this.w = w;
            ia = computed ? RowPlanes.allocate(h, w) : null;
            ib = computed ? RowPlanes.allocate(h, w) : null;
            ic = computed ? RowPlanes.allocate(h, w) : null;
            weight = computed ? RowPlanes.allocate(h, w) : null;
            weightSum = computed ? RowPlanes.allocate(h, w) : null;
            u = RowPlanes.allocate(h, w);
            v = RowPlanes.allocate(h, w);
            scratch = computed ? null : RowPlanes.allocate(h, w);
        }
    }
}
