package io.fluostream.imaging.denoise;

/**
 * Variance stabilisation for one Poisson–Gaussian channel: the generalised Anscombe transform
 * (GAT) maps raw ADU to values whose noise has unit variance, and its exact unbiased inverse
 * (Mäkitalo &amp; Foi, "Optimal inversion of the generalized Anscombe transformation for
 * Poisson–Gaussian noise", 2013) maps a denoised estimate back to offset-free ADU.
 *
 * <p>In photo-electron units {@code z = (y − offset)/a}, {@code z = Poisson(λ) + N(0, σ²)} with
 * {@code σ² = b/a²}, and the GAT is {@code f(z) = 2·√(z + 3/8 + σ²)}. Below {@code z = −3/8} (readings
 * under the offset, which only read noise produces) {@code f} continues as the tangent line
 * {@code 2σ + (z + 3/8)/σ} instead of the textbook clip at 0: the textbook slope {@code 1/√(z+k)}
 * grows without bound there and stretches the lower tail, so at a few photo-electrons with ~2 e⁻
 * read noise the "stabilised" noise has variance ~1.2 and a heavy lower tail, which a Gaussian
 * denoiser turns into speckles. The tangent's slope {@code 1/σ} is the right stabiliser where the
 * variance is the read noise alone. Values are stored shifted by {@code −2·√(3/8 + σ²)} and computed
 * as {@code 2z / (√(z+k) + √k)}, which keeps dark pixels near 0 (float precision) and tends to
 * {@code (y − offset)/√b} as {@code a → 0}. A model with {@code a = 0} is pure Gaussian noise and
 * gets exactly that affine map.
 *
 * <p>Why not the algebraic inverse: a denoiser estimates {@code E[f(z) | λ]}, which at a few
 * photo-electrons lies well below {@code f(λ)} (Jensen), so the algebraic inverse would darken
 * dim regions. The exact unbiased inverse inverts {@code λ ↦ E[f(z) | λ]} itself. It is tabulated
 * here per model for {@code λ ≤ max(30, 6σ + 20)} by integrating {@code f} against the Gaussian
 * read noise and summing over Poisson counts (which also makes it exact for the tangent tail
 * above); beyond, the asymptotic inverse {@code λ = D²/4 − 1/8 − σ²} (matched to the table's end)
 * is unbiased to well under 0.02 e⁻. Below the table's lowest value
 * {@code E[f | λ=0]} the inverse continues linearly into negative {@code λ} instead of clipping at
 * 0, so dark regions stay unbiased (a few slightly negative outputs are the price).
 *
 * <p>Immutable and thread-safe once built.
 */
public final class GeneralisedAnscombe {

    /**
     * Read noise (e⁻) above which the table is skipped: its entries would differ by less than
     * double precision resolves next to {@code 2√k}. The asymptotic inverse is then off by at most
     * ~1/8 e⁻, i.e. {@code a/8} ADU, negligible when {@code a} is that small against {@code √b}.
     */
    private static final double NO_TABLE_SIGMA = 1000.0;
    private static final int LAMBDA_POINTS = 192;
    private static final int INVERSE_POINTS = 1024;
    private static final int SIMPSON_INTERVALS = 96;

    private final NoiseModel model;
    private final boolean gaussianOnly;
    /** Read noise σ = √b/a in photo-electrons, and √k with k = 3/8 + σ². */
    private final double sigma;
    private final double rootK;
    /** The shifted value {@code 2σ − 2√k} of {@code f} where the tangent tail starts. */
    private final double tailStart;
    private final double gain;
    private final double scaleGaussian;

    // Inverse table over shifted D' = E[f] − 2√k, uniform in D'; null for a = 0 or huge σ.
    private final double[] inverseLambda;
    private final double tableD0;
    private final double tableDEnd;
    private final double tableStepInv;
    private final double slopeAtZero;
    /** Mismatch of the asymptotic inverse at the table's end, faded out as 1/D above it. */
    private final double asymptoteCorrection;

    /**
     * Table range in photo-electrons: at least 30, and far enough that readings below the tail
     * junction are 5σ-rare (the asymptotic inverse used above ignores the tail). Read noise is
     * capped at 100 e⁻ for this purpose (no scientific camera comes near; above it the asymptote's
     * end-of-table correction absorbs the residual ~0.1 e⁻).
     */
    private static double tableMaxLambda(double sigma) {
        return Math.max(30.0, 6 * Math.min(sigma, 100.0) + 20);
    }

    public GeneralisedAnscombe(NoiseModel model) {
        this.model = model;
        this.gain = model.gain();
        this.gaussianOnly = model.gain() == 0;
        this.scaleGaussian = Math.sqrt(model.readVariance());
        if (gaussianOnly) {
            rootK = Double.POSITIVE_INFINITY;
            sigma = Double.POSITIVE_INFINITY;
            tailStart = 0;
            inverseLambda = null;
            tableD0 = tableDEnd = tableStepInv = slopeAtZero = asymptoteCorrection = 0;
            return;
        }
        double sigma2 = model.readVariance() / (gain * gain);
        rootK = Math.sqrt(0.375 + sigma2);
        sigma = Math.sqrt(sigma2);
        tailStart = 2 * sigma - 2 * rootK;
        if (sigma > NO_TABLE_SIGMA) {
            inverseLambda = null;
            tableD0 = tableDEnd = tableStepInv = slopeAtZero = asymptoteCorrection = 0;
            return;
        }
        double maxLambda = tableMaxLambda(sigma);
        // E[f | λ] − 2√k on a λ grid that is denser near 0, where the curve bends most.
        double[] lambdas = new double[LAMBDA_POINTS];
        double[] expected = new double[LAMBDA_POINTS];
        double[] perCount = expectedPerCount(maxLambda);
        for (int i = 0; i < LAMBDA_POINTS; i++) {
            double t = (double) i / (LAMBDA_POINTS - 1);
            lambdas[i] = maxLambda * t * t;
            expected[i] = poissonMixture(lambdas[i], perCount);
            if (i > 0 && expected[i] <= expected[i - 1]) {
                expected[i] = Math.nextUp(expected[i - 1]); // guard monotonicity against round-off
            }
        }
        tableD0 = expected[0];
        tableDEnd = expected[LAMBDA_POINTS - 1];
        slopeAtZero = (expected[1] - expected[0]) / lambdas[1];
        double step = (tableDEnd - tableD0) / (INVERSE_POINTS - 1);
        tableStepInv = 1.0 / step;
        inverseLambda = new double[INVERSE_POINTS];
        int j = 0;
        for (int u = 0; u < INVERSE_POINTS; u++) {
            double d = tableD0 + u * step;
            while (j < LAMBDA_POINTS - 2 && expected[j + 1] < d) {
                j++;
            }
            double w = (d - expected[j]) / (expected[j + 1] - expected[j]);
            inverseLambda[u] = lambdas[j] + Math.min(1.0, Math.max(0.0, w)) * (lambdas[j + 1] - lambdas[j]);
        }
        inverseLambda[INVERSE_POINTS - 1] = maxLambda;
        asymptoteCorrection = maxLambda - asymptoticLambda(tableDEnd);
    }

    public NoiseModel model() {
        return model;
    }

    /** Raw ADU → stabilised values with unit noise variance (shifted GAT, see class comment). */
    public void forward(float[] raw, int rawStart, float[] out, int outStart, int n) {
        double offset = model.offset();
        if (gaussianOnly) {
            double inv = 1.0 / scaleGaussian;
            for (int i = 0; i < n; i++) {
                out[outStart + i] = (float) ((raw[rawStart + i] - offset) * inv);
            }
            return;
        }
        double invGain = 1.0 / gain;
        for (int i = 0; i < n; i++) {
            out[outStart + i] = (float) shifted((raw[rawStart + i] - offset) * invGain);
        }
    }

    /** Denoised stabilised values → offset-free ADU, by the exact unbiased inverse. */
    public void inverse(float[] stabilised, int start, float[] out, int outStart, int n) {
        if (gaussianOnly) {
            for (int i = 0; i < n; i++) {
                out[outStart + i] = (float) (stabilised[start + i] * scaleGaussian);
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            out[outStart + i] = (float) (gain * lambdaOf(stabilised[start + i]));
        }
    }

    /**
     * The expected stabilised value {@code E[f(z) | λ]} (shifted, as {@link #forward} writes) of a
     * pixel whose clean level is {@code cleanAdu} offset-free ADU: what a perfect denoiser of the
     * stabilised frame would output there, and what {@link #inverse} maps back to {@code cleanAdu}.
     * Found by bisection on the exact inverse; for training targets (CARE), not for hot paths.
     */
    public double expectedStabilised(double cleanAdu) {
        if (!Double.isFinite(cleanAdu)) {
            throw new IllegalArgumentException("clean level must be finite ADU, got " + cleanAdu);
        }
        if (gaussianOnly) {
            return cleanAdu / scaleGaussian;
        }
        double lambda = cleanAdu / gain;
        double lo = -1;
        double hi = 1;
        while (lambdaOf(lo) > lambda) {
            lo *= 2;
        }
        while (lambdaOf(hi) < lambda) {
            hi *= 2;
        }
        for (int i = 0; i < 60 && hi - lo > 1e-9 * Math.max(1, Math.abs(hi)); i++) {
            double mid = 0.5 * (lo + hi);
            if (lambdaOf(mid) < lambda) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** The photo-electron level whose expected (shifted) GAT value is {@code d}. */
    double lambdaOf(double d) {
        if (inverseLambda == null) {
            return asymptoticLambda(d);
        }
        if (d < tableD0) {
            return (d - tableD0) / slopeAtZero;
        }
        if (d >= tableDEnd) {
            return asymptoticLambda(d) + asymptoteCorrection * (tableDEnd + 2 * rootK) / (d + 2 * rootK);
        }
        double t = (d - tableD0) * tableStepInv;
        int i = Math.min((int) t, INVERSE_POINTS - 2);
        double w = t - i;
        return inverseLambda[i] + w * (inverseLambda[i + 1] - inverseLambda[i]);
    }

    /** {@code f(z) − 2√k}: the GAT above {@code z = −3/8}, its tangent line below. */
    private double shifted(double z) {
        if (z >= -0.375) {
            return 2 * z / (Math.sqrt(z + rootK * rootK) + rootK);
        }
        return sigma > 0 ? tailStart + (z + 0.375) / sigma : tailStart;
    }

    /** {@code D²/4 − 1/8 − σ²} written in the shifted variable {@code d = D − 2√k} (no cancellation). */
    private double asymptoticLambda(double d) {
        return d * d * 0.25 + d * rootK + 0.25;
    }

    /** {@code E[f(j + n)] − 2√k} for each count {@code j}, with {@code n ~ N(0, σ²)}. */
    private double[] expectedPerCount(double maxLambda) {
        int maxCount = (int) Math.ceil(maxLambda + 10 * Math.sqrt(maxLambda) + 10);
        double[] g = new double[maxCount + 1];
        for (int j = 0; j <= maxCount; j++) {
            g[j] = sigma == 0 ? shifted(j) : gaussianMean(j);
        }
        return g;
    }

    /**
     * {@code E[f(j + n)] − 2√k}, {@code n ~ N(0, σ²)}, split where {@code f} changes form
     * ({@code n* = −3/8 − j}). The tangent part has a closed form (Gaussian partial moments). On the
     * root part, {@code t = √(j + n + k)} turns the integrand into the smooth
     * {@code (4/σ)·t²·φ((t² − j − k)/σ)}, integrated by Simpson's rule from the junction
     * {@code t = σ} (or 8σ below the mean, whichever is higher) to 8σ above the mean.
     */
    private double gaussianMean(int j) {
        double k = rootK * rootK;
        double cut = (-0.375 - j) / sigma; // the junction in units of σ
        double below = normalCdf(cut);
        // E[(tailStart + (j + n + 3/8)/σ)·1{n < n*}] = (tailStart + (j + 3/8)/σ)·Φ(c) − φ(c)
        double tail = (tailStart + (j + 0.375) / sigma) * below - normalPdf(cut);
        double a = j + k;
        double lo = Math.max(sigma, Math.sqrt(Math.max(0.0, a - 8 * sigma))); // junction: √(j + n* + k) = σ
        double hi = Math.sqrt(a + 8 * sigma);
        double root = 0;
        if (hi > lo) {
            double h = (hi - lo) / SIMPSON_INTERVALS;
            double sum = 0;
            for (int i = 0; i <= SIMPSON_INTERVALS; i++) {
                double t = lo + i * h;
                double u = (t * t - a) / sigma;
                double f = t * t * Math.exp(-0.5 * u * u);
                sum += f * (i == 0 || i == SIMPSON_INTERVALS ? 1 : (i % 2 == 1 ? 4 : 2));
            }
            root = 4.0 / (sigma * Math.sqrt(2 * Math.PI)) * sum * h / 3.0;
        }
        // The root part above is E[f·1{n ≥ n*}] unshifted; shift by −2√k on that mass only.
        return tail + root - 2 * rootK * (1 - below);
    }

    private static double normalPdf(double u) {
        return Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
    }

    /** Standard normal CDF for {@code u ≤ 0} (all this class needs), by Simpson's rule from −9. */
    private static double normalCdf(double u) {
        double from = -9.0;
        if (u <= from) {
            return 0.0;
        }
        int intervals = 128;
        double h = (u - from) / intervals;
        double sum = 0;
        for (int i = 0; i <= intervals; i++) {
            sum += normalPdf(from + i * h) * (i == 0 || i == intervals ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return sum * h / 3.0;
    }

    /** {@code Σ_j Poisson(j; λ)·g[j]}. */
    private static double poissonMixture(double lambda, double[] g) {
        double p = Math.exp(-lambda);
        double sum = p * g[0];
        for (int j = 1; j < g.length; j++) {
            p *= lambda / j;
            sum += p * g[j];
        }
        return sum;
    }
}
