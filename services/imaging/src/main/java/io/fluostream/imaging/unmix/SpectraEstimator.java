package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Blind estimation of reference spectra from the data alone, for samples whose labels have not been
 * measured one by one: non-negative matrix factorisation {@code X ≈ W H} of samples of camera
 * frames into F spectra {@code W} (C × F, columns summing to 1, like
 * {@link io.fluostream.imaging.sim.SpectralMixing}) and abundances {@code H}.
 *
 * <p>Steps:
 * <ol>
 *   <li>Samples ({@link SpectralSamples}) from raw camera frames, not denoised ones (a denoiser's
 *       per-channel shrinkage bends the spectra of small structures): intensities less a uniform
 *       level (camera offset plus diffuse background), and edges, which show labels pure that
 *       intensities only show mixed. Each sample is seen in two independent halves of the pixels:
 *       one half chooses, the other is averaged.</li>
 *   <li>Start: successive projections (SPA; Gillis &amp; Vavasis, 2014) on the means of
 *       {@value #CLUSTERS} k-means clusters of sample directions: picking extreme cluster means
 *       rather than extreme samples keeps single noisy ones from being taken for pure ones.</li>
 *   <li>Refinement: hierarchical alternating least squares (HALS; Cichocki &amp; Phan, 2009), exact
 *       non-negative updates of one row of {@code H} or one column of {@code W} at a time.</li>
 *   <li>Purest samples, {@value #PURE_ROUNDS} times: each spectrum becomes the mean, in the
 *       averaging half, of the samples that the factorisation (on the choosing half) calls purest
 *       in it (the top {@value #PURE_SHARE} by that label's share), then {@code H} is refitted. NMF
 *       alone stretches its cone to cover the samples that noise pushes outside it; a mean of many
 *       nearly pure samples averages the noise out instead, and choosing in the other half keeps
 *       the noise that made a sample look pure out of that mean.</li>
 * </ol>
 * Spectra come out sorted by their mean channel (bluest first), so repeated estimates come in the
 * same order.
 *
 * <p>Measured on the forward model (256², 4 frames, worst angle of three labels, streams 1–14):
 * 2.0–4.6° at photon level 20 (2.7° on the bench's stream 2), 1.0–3.4° at 100 photons; 2.8–4.8°
 * on noise-free frames (streams 1–6), where the same few edges of two parallel outlines are chosen
 * every round; at 5 photons the nuclei's label is lost (17–36°). Labels
 * that never change on their own, anywhere (always co-localised, never with an outline of their
 * own), cannot be told from their mixtures at all. The returned residual and condition number
 * say how far to trust an estimate; compare it with the spectra in force before adopting it.
 *
 * <p>Stateless apart from its settings; thread-safe.
 */
public final class SpectraEstimator {

    /**
     * @param fluorophores labels F to find (1..C)
     * @param iterations   HALS sweeps before the purest-sample rounds (each updates all of H and W once)
     */
    public record Settings(int fluorophores, int iterations) {

        public Settings {
            if (fluorophores < 1) {
                throw new IllegalArgumentException("need at least one fluorophore to estimate, got " + fluorophores);
            }
            if (iterations < 1 || iterations > 10_000) {
                throw new IllegalArgumentException("iterations must be 1..10000, got " + iterations);
            }
        }

        /** F labels, 200 sweeps. */
        public static Settings of(int fluorophores) {
            return new Settings(fluorophores, 200);
        }
    }

    /**
     * An estimate and how much to trust it.
     *
     * @param spectra          the estimated C × F spectra, columns summing to 1, bluest first
     * @param background       per channel: the uniform level taken off the intensities (camera
     *                         offset plus diffuse background), ADU per pixel
     * @param relativeResidual ||X − W H|| / ||X|| over the samples used: near the noise level when F
     *                         labels explain the data, larger when a label is missing
     * @param samplesUsed      samples the factorisation used (bright pixels and edges)
     * @param pixelsOffered    pixels of the frames offered
     */
    public record Estimate(ReferenceSpectra spectra, double[] background, double relativeResidual, int samplesUsed,
                           int pixelsOffered) {

        public Estimate {
            background = background.clone();
        }

        /** Condition number of the estimated spectra: how much unmixing with them amplifies noise. */
        public double conditionNumber() {
            return spectra.conditionNumber();
        }

        @Override
        public double[] background() {
            return background.clone();
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "Estimate[%s, relative residual %.4f, %d samples of %d pixels, condition %.1f]",
                    spectra.toText(), relativeResidual, samplesUsed, pixelsOffered, conditionNumber());
        }
    }

    /** k-means clusters of sample directions that the start picks from. */
    static final int CLUSTERS = 16;
    /** Smallest share of the total intensity a cluster needs to be a candidate spectrum. */
    static final double MIN_CLUSTER_SHARE = 0.002;
    /** Share of the factorised samples, the purest in a label, whose mean becomes its spectrum. */
    static final double PURE_SHARE = 0.02;
    /** Rounds of purest-sample means after the factorisation. */
    static final int PURE_ROUNDS = 6;

    private final Settings settings;

    public SpectraEstimator(Settings settings) {
        if (settings == null) {
            throw new IllegalArgumentException("settings are required");
        }
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Estimates spectra from camera frames or tiles of them ({@link RawTiles}): C × H × W each, camera
     * ADU (a camera offset and a uniform background are measured and removed), from intensities and
     * edges seen in two independent halves of the pixels ({@link SpectralSamples}): the factorisation
     * ranks samples by one half and averages the other.
     *
     * @throws IllegalArgumentException if there are no frames, they differ in channel count, one is
     *     smaller than {@link SpectralSamples#minimumSide()}, a value is not finite, there are fewer
     *     channels than fluorophores, too few samples carry signal, or the estimate comes out
     *     rank-deficient (the message says what to try)
     */
    public Estimate estimate(List<Image> frames) {
        SpectralSamples samples = SpectralSamples.of(frames);
        int nc = samples.channels;
        int nf = settings.fluorophores();
        if (nc < nf) {
            throw new IllegalArgumentException("cannot find " + nf + " spectra in " + nc
                    + " channels: need at least as many channels as fluorophores");
        }
        int minimum = 20 * nf;
        if (samples.count < 10 * minimum) {
            throw new IllegalArgumentException("only " + samples.count + " samples (" + samples.intensities + " bright pixels, "
                    + samples.edges + " edges) to estimate " + nf + " spectra from; need " + 10 * minimum
                    + ": let more or brighter frames through");
        }
        int n = samples.count;
        double[] w = clusteredProjections(samples.select, nc, n, nf);
        normaliseColumns(w, nc, nf);
        double[] h = new double[nf * n];
        double residual = hals(samples.select, nc, n, w, h, nf, settings.iterations());
        for (int round = 0; round < PURE_ROUNDS; round++) {
            // Chosen by the one half (h comes from it), averaged in the other.
            purestPixelMeans(samples.average, nc, n, w, h, nf);
            residual = hals(samples.select, nc, n, w, h, nf, 0);
        }
        return new Estimate(bluestFirst(w, nc, nf), samples.background, residual, n,
                (int) Math.min(Integer.MAX_VALUE, samples.pixelsOffered));
    }

    /** The C × F spectra of {@code w} (row-major, unit-sum columns), labels sorted by mean channel. */
    private static ReferenceSpectra bluestFirst(double[] w, int nc, int nf) {
        Integer[] order = new Integer[nf];
        double[] centre = new double[nf];
        for (int f = 0; f < nf; f++) {
            order[f] = f;
            for (int c = 0; c < nc; c++) {
                centre[f] += c * w[c * nf + f];
            }
        }
        Arrays.sort(order, (a, b) -> Double.compare(centre[a], centre[b]));
        double[][] rows = new double[nc][nf];
        for (int c = 0; c < nc; c++) {
            for (int f = 0; f < nf; f++) {
                rows[c][f] = w[c * nf + order[f]];
            }
        }
        try {
            return ReferenceSpectra.of(rows);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the estimated spectra are not usable (" + e.getMessage()
                    + "); the data may hold fewer than " + nf + " distinguishable labels", e);
        }
    }

    /**
     * Sets each column of {@code w} (C × k row-major) to the unit-sum mean of the samples of
     * {@code x} (C × n column-major) whose share of their signal in that label, by {@code h}
     * (k × n row-major), is among the top {@value #PURE_SHARE}; keeps a column when no sample
     * carries its label. The estimator passes the averaging look as {@code x} and abundances fitted
     * to the choosing look as {@code h}.
     */
    static void purestPixelMeans(double[] x, int nc, int n, double[] w, double[] h, int k) {
        double[] total = new double[n];
        for (int a = 0; a < k; a++) {
            for (int j = 0; j < n; j++) {
                total[j] += h[a * n + j];
            }
        }
        double[] share = new double[n];
        double[] sum = new double[nc];
        for (int a = 0; a < k; a++) {
            for (int j = 0; j < n; j++) {
                share[j] = total[j] > 0 ? h[a * n + j] / total[j] : 0;
            }
            double[] sorted = share.clone();
            Arrays.sort(sorted);
            double cut = sorted[(int) ((1 - PURE_SHARE) * (n - 1))];
            Arrays.fill(sum, 0);
            for (int j = 0; j < n; j++) {
                if (share[j] > 0 && share[j] >= cut) {
                    for (int c = 0; c < nc; c++) {
                        sum[c] += x[j * nc + c];
                    }
                }
            }
            // Samples with the level taken off can be slightly negative in a channel the label lacks.
            double t = 0;
            for (int c = 0; c < nc; c++) {
                t += Math.max(0, sum[c]);
            }
            if (t > 0) {
                for (int c = 0; c < nc; c++) {
                    w[c * k + a] = Math.max(0, sum[c]) / t;
                }
            }
        }
    }

    /**
     * Starting spectra: k-means ({@value #CLUSTERS} clusters, k-means++ seeding, intensity
     * weights) on the unit-sum directions of the pixels {@code x} (column-major C × n), then
     * successive projections over the cluster means that carry at least
     * {@value #MIN_CLUSTER_SHARE} of the intensity. Returns C × f, row-major.
     */
    static double[] clusteredProjections(double[] x, int nc, int n, int f) {
        double[] dir = new double[nc * n];
        double[] weight = new double[n];
        for (int j = 0; j < n; j++) {
            double t = 0;
            for (int c = 0; c < nc; c++) {
                t += x[j * nc + c];
            }
            weight[j] = t;
            for (int c = 0; c < nc; c++) {
                dir[j * nc + c] = t > 0 ? x[j * nc + c] / t : 1.0 / nc;
            }
        }
        int kk = Math.max(f, Math.min(CLUSTERS, n / 10));
        double[] centre = kMeans(dir, weight, nc, n, kk, new SplittableRandom(1));
        double[] mass = new double[kk];
        double total = 0;
        for (int j = 0; j < n; j++) {
            mass[nearestCentre(dir, j, centre, nc, kk)] += weight[j];
            total += weight[j];
        }
        int good = 0;
        double[] candidates = new double[kk * nc];
        for (int q = 0; q < kk; q++) {
            if (mass[q] >= MIN_CLUSTER_SHARE * total) {
                System.arraycopy(centre, q * nc, candidates, good * nc, nc);
                good++;
            }
        }
        double[] w = new double[nc * f];
        double[] residual = Arrays.copyOf(candidates, good * nc);
        double[] direction = new double[nc];
        for (int a = 0; a < f; a++) {
            int best = 0;
            double bestNorm = -1;
            for (int q = 0; q < good; q++) {
                double s = 0;
                for (int c = 0; c < nc; c++) {
                    s += residual[q * nc + c] * residual[q * nc + c];
                }
                if (s > bestNorm) {
                    bestNorm = s;
                    best = q;
                }
            }
            for (int c = 0; c < nc; c++) {
                w[c * f + a] = candidates[best * nc + c];
            }
            double norm = Math.sqrt(bestNorm);
            if (!(norm > 0)) {
                break;
            }
            for (int c = 0; c < nc; c++) {
                direction[c] = residual[best * nc + c] / norm;
            }
            for (int q = 0; q < good; q++) {
                double dot = 0;
                for (int c = 0; c < nc; c++) {
                    dot += residual[q * nc + c] * direction[c];
                }
                for (int c = 0; c < nc; c++) {
                    residual[q * nc + c] -= dot * direction[c];
                }
            }
        }
        return w;
    }

    /** Weighted k-means (Lloyd, 20 rounds, k-means++ seeding); returns the centres, k × nc. */
    private static double[] kMeans(double[] x, double[] weight, int nc, int n, int k, SplittableRandom rng) {
        double[] centre = new double[k * nc];
        double[] d2 = new double[n];
        Arrays.fill(d2, Double.POSITIVE_INFINITY);
        System.arraycopy(x, rng.nextInt(n) * nc, centre, 0, nc);
        for (int q = 1; q < k; q++) {
            double total = 0;
            for (int j = 0; j < n; j++) {
                d2[j] = Math.min(d2[j], distance2(x, j, centre, q - 1, nc));
                total += d2[j] * weight[j];
            }
            double r = rng.nextDouble() * total;
            int pick = n - 1;
            for (int j = 0; j < n; j++) {
                r -= d2[j] * weight[j];
                if (r <= 0) {
                    pick = j;
                    break;
                }
            }
            System.arraycopy(x, pick * nc, centre, q * nc, nc);
        }
        double[] mass = new double[k];
        double[] sum = new double[k * nc];
        for (int round = 0; round < 20; round++) {
            Arrays.fill(mass, 0);
            Arrays.fill(sum, 0);
            for (int j = 0; j < n; j++) {
                int q = nearestCentre(x, j, centre, nc, k);
                mass[q] += weight[j];
                for (int c = 0; c < nc; c++) {
                    sum[q * nc + c] += weight[j] * x[j * nc + c];
                }
            }
            for (int q = 0; q < k; q++) {
                if (mass[q] > 0) {
                    for (int c = 0; c < nc; c++) {
                        centre[q * nc + c] = sum[q * nc + c] / mass[q];
                    }
                }
            }
        }
        return centre;
    }

    private static int nearestCentre(double[] x, int j, double[] centre, int nc, int k) {
        int best = 0;
        double bestD = Double.POSITIVE_INFINITY;
        for (int q = 0; q < k; q++) {
            double d = distance2(x, j, centre, q, nc);
            if (d < bestD) {
                bestD = d;
                best = q;
            }
        }
        return best;
    }

    private static double distance2(double[] x, int j, double[] centre, int q, int nc) {
        double s = 0;
        for (int c = 0; c < nc; c++) {
            double e = x[j * nc + c] - centre[q * nc + c];
            s += e * e;
        }
        return s;
    }

    /**
     * HALS for {@code X ≈ W H}: {@code x} C × n column-major, {@code w} C × k row-major (updated in
     * place, columns kept at unit sum), {@code h} k × n row-major (overwritten). Returns
     * ||X − W H|| / ||X||.
     */
    static double hals(double[] x, int nc, int n, double[] w, double[] h, int k, int iterations) {
        double[] wtw = new double[k * k];
        double[] wtx = new double[k * n];
        double[] hht = new double[k * k];
        double[] xht = new double[nc * k];
        Arrays.fill(h, 0);
        for (int sweep = 0; sweep < iterations + 1; sweep++) {
            // H update: rows one at a time, h_f ← max(0, h_f + (Wᵀx − WᵀW h)_f / (WᵀW)_ff).
            Arrays.fill(wtw, 0);
            for (int a = 0; a < k; a++) {
                for (int b = 0; b < k; b++) {
                    double s = 0;
                    for (int c = 0; c < nc; c++) {
                        s += w[c * k + a] * w[c * k + b];
                    }
                    wtw[a * k + b] = s;
                }
            }
            for (int j = 0; j < n; j++) {
                for (int a = 0; a < k; a++) {
                    double s = 0;
                    for (int c = 0; c < nc; c++) {
                        s += w[c * k + a] * x[j * nc + c];
                    }
                    wtx[a * n + j] = s;
                }
            }
            int inner = sweep == 0 ? 20 : 1;
            for (int rep = 0; rep < inner; rep++) {
                for (int a = 0; a < k; a++) {
                    double d = wtw[a * k + a];
                    if (!(d > 0)) {
                        continue;
                    }
                    for (int j = 0; j < n; j++) {
                        double s = wtx[a * n + j];
                        for (int b = 0; b < k; b++) {
                            s -= wtw[a * k + b] * h[b * n + j];
                        }
                        h[a * n + j] = Math.max(0, h[a * n + j] + s / d);
                    }
                }
            }
            if (sweep == iterations) {
                break;
            }
            // W update: columns one at a time, w_f ← max(0, w_f + (X hᵀ − W H Hᵀ)_f / (H Hᵀ)_ff).
            Arrays.fill(hht, 0);
            Arrays.fill(xht, 0);
            for (int a = 0; a < k; a++) {
                for (int b = a; b < k; b++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) {
                        s += h[a * n + j] * h[b * n + j];
                    }
                    hht[a * k + b] = s;
                    hht[b * k + a] = s;
                }
                for (int j = 0; j < n; j++) {
                    double hv = h[a * n + j];
                    if (hv != 0) {
                        for (int c = 0; c < nc; c++) {
                            xht[c * k + a] += x[j * nc + c] * hv;
                        }
                    }
                }
            }
            for (int a = 0; a < k; a++) {
                double d = hht[a * k + a];
                if (!(d > 0)) {
                    continue;
                }
                double total = 0;
                for (int c = 0; c < nc; c++) {
                    double s = xht[c * k + a];
                    for (int b = 0; b < k; b++) {
                        s -= w[c * k + b] * hht[b * k + a];
                    }
                    double v = Math.max(0, w[c * k + a] + s / d);
                    w[c * k + a] = v;
                    total += v;
                }
                // Unit-sum columns; the scale moves into H (next H update absorbs it).
                if (total > 0) {
                    for (int c = 0; c < nc; c++) {
                        w[c * k + a] /= total;
                    }
                    for (int j = 0; j < n; j++) {
                        h[a * n + j] *= total;
                    }
                    // Keep HHᵀ consistent for the remaining columns of this sweep.
                    for (int b = 0; b < k; b++) {
                        hht[a * k + b] *= total;
                        hht[b * k + a] *= total;
                    }
                    for (int c = 0; c < nc; c++) {
                        xht[c * k + a] *= total;
                    }
                }
            }
        }
        double err = 0;
        double norm = 0;
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < nc; c++) {
                double s = x[j * nc + c];
                norm += s * s;
                for (int a = 0; a < k; a++) {
                    s -= w[c * k + a] * h[a * n + j];
                }
                err += s * s;
            }
        }
        return norm > 0 ? Math.sqrt(err / norm) : 0;
    }

    private static void normaliseColumns(double[] w, int nc, int k) {
        for (int a = 0; a < k; a++) {
            double total = 0;
            for (int c = 0; c < nc; c++) {
                total += w[c * k + a];
            }
            if (total > 0) {
                for (int c = 0; c < nc; c++) {
                    w[c * k + a] /= total;
                }
            }
        }
    }

    /** Angle in degrees between two spectra (vectors of one length). */
    public static double angleDegrees(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        double cos = dot / Math.sqrt(na * nb);
        return Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, cos))));
    }

    /**
     * The worst angle between matched columns of two spectra of the same shape, minimised over
     * all pairings (every permutation: F is small). {@code matching[f]} receives the column of
     * {@code estimate} paired with column {@code f} of {@code truth}.
     */
    public static double worstAngleDegrees(ReferenceSpectra truth, ReferenceSpectra estimate, int[] matching) {
        int nf = truth.fluorophores();
        if (estimate.fluorophores() != nf || estimate.channels() != truth.channels()) {
            throw new IllegalArgumentException("cannot compare " + truth + " with " + estimate + ": shapes differ");
        }
        double[][] angle = new double[nf][nf];
        for (int f = 0; f < nf; f++) {
            for (int g = 0; g < nf; g++) {
                angle[f][g] = angleDegrees(column(truth, f), column(estimate, g));
            }
        }
        int[] perm = new int[nf];
        for (int i = 0; i < nf; i++) {
            perm[i] = i;
        }
        double best = Double.POSITIVE_INFINITY;
        do {
            double worst = 0;
            for (int f = 0; f < nf; f++) {
                worst = Math.max(worst, angle[f][perm[f]]);
            }
            if (worst < best) {
                best = worst;
                if (matching != null) {
                    System.arraycopy(perm, 0, matching, 0, nf);
                }
            }
        } while (nextPermutation(perm));
        return best;
    }

    static double[] column(ReferenceSpectra s, int f) {
        double[] v = new double[s.channels()];
        for (int c = 0; c < v.length; c++) {
            v[c] = s.get(c, f);
        }
        return v;
    }

    private static boolean nextPermutation(int[] p) {
        int i = p.length - 2;
        while (i >= 0 && p[i] >= p[i + 1]) {
            i--;
        }
        if (i < 0) {
            return false;
        }
        int j = p.length - 1;
        while (p[j] <= p[i]) {
            j--;
        }
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
        for (int a = i + 1, b = p.length - 1; a < b; a++, b--) {
            t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
        return true;
    }
}
