package io.fluostream.imaging.fft;

import io.fluostream.imaging.VectorApi;

/**
 * In-place discrete Fourier transform of one complex sequence of any length {@code n ≥ 1}, in
 * split format (real and imaginary parts in two {@code double[]}).
 *
 * <p>{@link #forward} computes {@code X[k] = Σ_j x[j]·exp(−2πi·jk/n)}; {@link #inverse} computes
 * {@code x[j] = (1/n)·Σ_k X[k]·exp(+2πi·jk/n)}, so {@code inverse(forward(x)) == x}.
 *
 * <p>Lengths whose prime factors are all ≤ {@value #MAX_DIRECT_PRIME} use self-sorting mixed-radix
 * (Stockham) passes: radix 4, 2, 3, 5 unrolled, other primes by a direct butterfly. Lengths with
 * a larger prime factor use Bluestein's chirp-z algorithm over a power-of-two transform, so every
 * camera ROI size works in O(n log n).
 *
 * <p>An instance owns scratch buffers for its length: it is not thread-safe; use one per thread.
 */
public final class ComplexFft {

    /**
     * Whether this JVM runs the radix-2/4 passes on the Vector API: it was started with
     * {@code --add-modules jdk.incubator.vector} and has vectors of at least 4 doubles. (Checked
     * before {@link VectorFftPasses} is touched, so a JVM without the module never loads it.)
     */
    static final boolean VECTOR_PASSES = VectorApi.present() && VectorFftPasses.LANES >= 4;

    /** Largest prime factor handled by a direct butterfly (O(p) per output); above it, Bluestein. */
    static final int MAX_DIRECT_PRIME = 31;

    private final int n;
    private final int[] radices;
    private final double[][] stageTwRe; // per stage: exp(-2πi j·u/len), j < len/p, u in [1, p)
    private final double[][] stageTwIm;
    private final double[] rootRe; // exp(-2πi k/p) for the generic butterfly, per distinct p
    private final double[] rootIm;
    private double[] workRe; // ping-pong buffer of the self-sorting (Stockham) passes
    private double[] workIm;
    private final double[] bflyRe; // scratch for the generic radix butterfly
    private final double[] bflyIm;
    private final Bluestein bluestein;
    private final boolean vector;

    public ComplexFft(int n) {
        this(n, VECTOR_PASSES);
    }

    /**
     * @param vector run the radix-2 and radix-4 passes whose unit-stride runs are at least a
     *               vector long on the Vector API ({@link VectorFftPasses}); needs
     *               {@link #VECTOR_PASSES}. The answers agree with the scalar passes'
     *               to rounding (the same operations, in the same order, per element).
     */
    ComplexFft(int n, boolean vector) {
        if (vector && !VECTOR_PASSES) {
            throw new IllegalArgumentException("the Vector API passes need a JVM started with"
                    + " --add-modules jdk.incubator.vector and a vector of at least 4 doubles");
        }
        this.vector = vector;
        if (n < 1) {
            throw new IllegalArgumentException("FFT length must be >= 1, got " + n);
        }
        this.n = n;
        int[] factors = factor(n);
        int largest = 1;
        for (int f : factors) {
            largest = Math.max(largest, f);
        }
        if (largest > MAX_DIRECT_PRIME) {
            bluestein = new Bluestein(n, vector);
            radices = new int[0];
            stageTwRe = stageTwIm = null;
            rootRe = rootIm = workRe = workIm = bflyRe = bflyIm = null;
            return;
        }
        bluestein = null;
        radices = factors;
        stageTwRe = new double[factors.length][];
        stageTwIm = new double[factors.length][];
        int len = n;
        for (int st = 0; st < factors.length; st++) {
            int p = factors[st];
            int m = len / p;
            double[] tr = new double[m * (p - 1)];
            double[] ti = new double[m * (p - 1)];
            for (int j = 0; j < m; j++) {
                for (int u = 1; u < p; u++) {
                    double a = -2 * Math.PI * ((long) j * u) / len;
                    tr[j * (p - 1) + u - 1] = Math.cos(a);
                    ti[j * (p - 1) + u - 1] = Math.sin(a);
                }
            }
            stageTwRe[st] = tr;
            stageTwIm[st] = ti;
            len = m;
        }
        rootRe = new double[largest];
        rootIm = new double[largest];
        workRe = new double[0];
        workIm = new double[0];
        bflyRe = new double[largest];
        bflyIm = new double[largest];
    }

    public int length() {
        return n;
    }

    /** Forward transform of {@code re/im[0, n)} in place. */
    public void forward(double[] re, double[] im) {
        forward(re, im, 0);
    }

    /** Forward transform of {@code re/im[offset, offset + n)} in place. */
    public void forward(double[] re, double[] im, int offset) {
        forward(re, im, offset, 1);
    }

    /**
     * Forward transforms, in place, of {@code batch} interleaved sequences: element k of sequence
     * t is at {@code offset + k·batch + t}. With {@code batch} = width this transforms every column
     * of a row-major plane at once, with unit-stride inner loops and no transposition.
     */
    public void forward(double[] re, double[] im, int offset, int batch) {
        checkRange(re, im, offset, batch);
        if (n == 1) {
            return;
        }
        if (bluestein != null) {
            for (int t = 0; t < batch; t++) {
                bluestein.transform(re, im, offset + t, batch);
            }
        } else {
            stockham(re, im, offset, batch);
        }
    }

    /** Inverse transform (scaled by 1/n) of {@code re/im[0, n)} in place. */
    public void inverse(double[] re, double[] im) {
        inverse(re, im, 0);
    }

    /** Inverse transform (scaled by 1/n) of {@code re/im[offset, offset + n)} in place. */
    public void inverse(double[] re, double[] im, int offset) {
        inverse(re, im, offset, 1);
    }

    /** Inverse transforms (scaled by 1/n) of {@code batch} interleaved sequences, as {@link #forward(double[], double[], int, int)}. */
    public void inverse(double[] re, double[] im, int offset, int batch) {
        // Swapping real and imaginary parts before and after a forward transform conjugates the
        // kernel: swap(DFT(swap(x))) = n·IDFT(x). No extra pass over the data is needed for it.
        forward(im, re, offset, batch);
        double s = 1.0 / n;
        for (int i = offset; i < offset + n * batch; i++) {
            re[i] *= s;
            im[i] *= s;
        }
    }

    private void checkRange(double[] re, double[] im, int offset, int batch) {
        long end = offset + (long) n * batch;
        if (offset < 0 || batch < 1 || re.length < end || im.length < end) {
            throw new IllegalArgumentException("FFT of length " + n + " x " + batch + " at offset " + offset
                    + " does not fit arrays of length " + re.length + "/" + im.length);
        }
    }

    /**
     * Self-sorting decimation in frequency (Stockham): each pass reads one buffer and writes the
     * other, so no bit reversal is needed, and its inner loop runs over unit-stride runs of length
     * {@code s} (the product of the radices already done, times {@code batch}: interleaved
     * sequences are simply a longer unit-stride run).
     */
    private void stockham(double[] re, double[] im, int offset, int batch) {
        int total = n * batch;
        if (workRe.length < total) {
            workRe = new double[total];
            workIm = new double[total];
        }
        double[] xr = re;
        double[] xi = im;
        int xo = offset;
        double[] yr = workRe;
        double[] yi = workIm;
        int yo = 0;
        int s = batch;
        int len = n;
        for (int st = 0; st < radices.length; st++) {
            int p = radices[st];
            int m = len / p;
            double[] tr = stageTwRe[st];
            double[] ti = stageTwIm[st];
            switch (p) {
                case 2 -> {
                    if (vector && s >= VectorFftPasses.LANES) {
                        VectorFftPasses.pass2(xr, xi, xo, yr, yi, yo, s, m, tr, ti);
                    } else {
                        pass2(xr, xi, xo, yr, yi, yo, s, m, tr, ti, 0);
                    }
                }
                case 3 -> pass3(xr, xi, xo, yr, yi, yo, s, m, tr, ti);
                case 4 -> {
                    if (vector && s >= VectorFftPasses.LANES) {
                        VectorFftPasses.pass4(xr, xi, xo, yr, yi, yo, s, m, tr, ti);
                    } else {
                        pass4(xr, xi, xo, yr, yi, yo, s, m, tr, ti, 0);
                    }
                }
                case 5 -> pass5(xr, xi, xo, yr, yi, yo, s, m, tr, ti);
                default -> passGeneric(xr, xi, xo, yr, yi, yo, s, m, p, tr, ti);
            }
            double[] t = xr;
            xr = yr;
            yr = t;
            t = xi;
            xi = yi;
            yi = t;
            int o = xo;
            xo = yo;
            yo = o;
            s *= p;
            len = m;
        }
        if (xr != re) {
            System.arraycopy(xr, xo, re, offset, total);
            System.arraycopy(xi, xo, im, offset, total);
        }
    }

    // y[q + s(p·j + u)] = w^{ju} · Σ_r x[q + s(j + r·m)]·exp(−2πi·ru/p)

    /** Radix-2 pass over the runs' elements q in [q0, s) (the rest, if any, done by {@link VectorFftPasses}). */
    static void pass2(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti, int q0) {
        for (int j = 0; j < m; j++) {
            double wr = tr[j];
            double wi = ti[j];
            int a = xo + s * j;
            int b = a + s * m;
            int c = yo + s * 2 * j;
            int d = c + s;
            for (int q = q0; q < s; q++) {
                double ar = xr[a + q];
                double ai = xi[a + q];
                double br = xr[b + q];
                double bi = xi[b + q];
                yr[c + q] = ar + br;
                yi[c + q] = ai + bi;
                double dr = ar - br;
                double di = ai - bi;
                yr[d + q] = dr * wr - di * wi;
                yi[d + q] = dr * wi + di * wr;
            }
        }
    }

    private static void pass3(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti) {
        final double s3 = Math.sqrt(0.75); // sin(2π/3)
        for (int j = 0; j < m; j++) {
            double w1r = tr[2 * j];
            double w1i = ti[2 * j];
            double w2r = tr[2 * j + 1];
            double w2i = ti[2 * j + 1];
            int a0 = xo + s * j;
            int a1 = a0 + s * m;
            int a2 = a1 + s * m;
            int c0 = yo + s * 3 * j;
            int c1 = c0 + s;
            int c2 = c1 + s;
            for (int q = 0; q < s; q++) {
                double x0r = xr[a0 + q];
                double x0i = xi[a0 + q];
                double x1r = xr[a1 + q];
                double x1i = xi[a1 + q];
                double x2r = xr[a2 + q];
                double x2i = xi[a2 + q];
                double sr = x1r + x2r;
                double si = x1i + x2i;
                double dr = x1r - x2r;
                double di = x1i - x2i;
                double mr = x0r - 0.5 * sr;
                double mi = x0i - 0.5 * si;
                yr[c0 + q] = x0r + sr;
                yi[c0 + q] = x0i + si;
                // b1 = m − i·s3·d, b2 = m + i·s3·d  (kernel exp(−2πi/3))
                double b1r = mr + s3 * di;
                double b1i = mi - s3 * dr;
                double b2r = mr - s3 * di;
                double b2i = mi + s3 * dr;
                yr[c1 + q] = b1r * w1r - b1i * w1i;
                yi[c1 + q] = b1r * w1i + b1i * w1r;
                yr[c2 + q] = b2r * w2r - b2i * w2i;
                yi[c2 + q] = b2r * w2i + b2i * w2r;
            }
        }
    }

    /** Radix-4 pass over the runs' elements q in [q0, s) (the rest, if any, done by {@link VectorFftPasses}). */
    static void pass4(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti, int q0) {
        for (int j = 0; j < m; j++) {
            double w1r = tr[3 * j];
            double w1i = ti[3 * j];
            double w2r = tr[3 * j + 1];
            double w2i = ti[3 * j + 1];
            double w3r = tr[3 * j + 2];
            double w3i = ti[3 * j + 2];
            int a0 = xo + s * j;
            int a1 = a0 + s * m;
            int a2 = a1 + s * m;
            int a3 = a2 + s * m;
            int c0 = yo + s * 4 * j;
            int c1 = c0 + s;
            int c2 = c1 + s;
            int c3 = c2 + s;
            for (int q = q0; q < s; q++) {
                double x0r = xr[a0 + q];
                double x0i = xi[a0 + q];
                double x1r = xr[a1 + q];
                double x1i = xi[a1 + q];
                double x2r = xr[a2 + q];
                double x2i = xi[a2 + q];
                double x3r = xr[a3 + q];
                double x3i = xi[a3 + q];
                double s0r = x0r + x2r;
                double s0i = x0i + x2i;
                double s1r = x0r - x2r;
                double s1i = x0i - x2i;
                double s2r = x1r + x3r;
                double s2i = x1i + x3i;
                double s3r = x1r - x3r;
                double s3i = x1i - x3i;
                yr[c0 + q] = s0r + s2r;
                yi[c0 + q] = s0i + s2i;
                // b1 = s1 − i·s3, b2 = s0 − s2, b3 = s1 + i·s3
                double b1r = s1r + s3i;
                double b1i = s1i - s3r;
                double b2r = s0r - s2r;
                double b2i = s0i - s2i;
                double b3r = s1r - s3i;
                double b3i = s1i + s3r;
                yr[c1 + q] = b1r * w1r - b1i * w1i;
                yi[c1 + q] = b1r * w1i + b1i * w1r;
                yr[c2 + q] = b2r * w2r - b2i * w2i;
                yi[c2 + q] = b2r * w2i + b2i * w2r;
                yr[c3 + q] = b3r * w3r - b3i * w3i;
                yi[c3 + q] = b3r * w3i + b3i * w3r;
            }
        }
    }

    private static void pass5(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti) {
        final double c1 = Math.cos(2 * Math.PI / 5);
        final double c2 = Math.cos(4 * Math.PI / 5);
        final double s1 = Math.sin(2 * Math.PI / 5);
        final double s2 = Math.sin(4 * Math.PI / 5);
        for (int j = 0; j < m; j++) {
            int t = 4 * j;
            double w1r = tr[t];
            double w1i = ti[t];
            double w2r = tr[t + 1];
            double w2i = ti[t + 1];
            double w3r = tr[t + 2];
            double w3i = ti[t + 2];
            double w4r = tr[t + 3];
            double w4i = ti[t + 3];
            int a0 = xo + s * j;
            int a1 = a0 + s * m;
            int a2 = a1 + s * m;
            int a3 = a2 + s * m;
            int a4 = a3 + s * m;
            int c0 = yo + s * 5 * j;
            for (int q = 0; q < s; q++) {
                double x0r = xr[a0 + q];
                double x0i = xi[a0 + q];
                double t1r = xr[a1 + q] + xr[a4 + q];
                double t1i = xi[a1 + q] + xi[a4 + q];
                double t2r = xr[a2 + q] + xr[a3 + q];
                double t2i = xi[a2 + q] + xi[a3 + q];
                double t3r = xr[a1 + q] - xr[a4 + q];
                double t3i = xi[a1 + q] - xi[a4 + q];
                double t4r = xr[a2 + q] - xr[a3 + q];
                double t4i = xi[a2 + q] - xi[a3 + q];
                yr[c0 + q] = x0r + t1r + t2r;
                yi[c0 + q] = x0i + t1i + t2i;
                double p1r = x0r + c1 * t1r + c2 * t2r;
                double p1i = x0i + c1 * t1i + c2 * t2i;
                double p2r = x0r + c2 * t1r + c1 * t2r;
                double p2i = x0i + c2 * t1i + c1 * t2i;
                double q1r = s1 * t3r + s2 * t4r;
                double q1i = s1 * t3i + s2 * t4i;
                double q2r = s2 * t3r - s1 * t4r;
                double q2i = s2 * t3i - s1 * t4i;
                // b1 = p1 − i·q1, b4 = p1 + i·q1, b2 = p2 − i·q2, b3 = p2 + i·q2
                double b1r = p1r + q1i;
                double b1i = p1i - q1r;
                double b4r = p1r - q1i;
                double b4i = p1i + q1r;
                double b2r = p2r + q2i;
                double b2i = p2i - q2r;
                double b3r = p2r - q2i;
                double b3i = p2i + q2r;
                int c = c0 + s + q;
                yr[c] = b1r * w1r - b1i * w1i;
                yi[c] = b1r * w1i + b1i * w1r;
                c += s;
                yr[c] = b2r * w2r - b2i * w2i;
                yi[c] = b2r * w2i + b2i * w2r;
                c += s;
                yr[c] = b3r * w3r - b3i * w3i;
                yi[c] = b3r * w3i + b3i * w3r;
                c += s;
                yr[c] = b4r * w4r - b4i * w4i;
                yi[c] = b4r * w4i + b4i * w4r;
            }
        }
    }

    private void passGeneric(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, int p, double[] tr, double[] ti) {
        for (int k = 0; k < p; k++) {
            double a = -2 * Math.PI * k / p;
            rootRe[k] = Math.cos(a);
            rootIm[k] = Math.sin(a);
        }
        for (int j = 0; j < m; j++) {
            for (int q = 0; q < s; q++) {
                for (int r = 0; r < p; r++) {
                    bflyRe[r] = xr[xo + q + s * (j + r * m)];
                    bflyIm[r] = xi[xo + q + s * (j + r * m)];
                }
                for (int u = 0; u < p; u++) {
                    double sr = 0;
                    double si = 0;
                    int idx = 0;
                    for (int r = 0; r < p; r++) {
                        sr += bflyRe[r] * rootRe[idx] - bflyIm[r] * rootIm[idx];
                        si += bflyRe[r] * rootIm[idx] + bflyIm[r] * rootRe[idx];
                        idx += u;
                        if (idx >= p) {
                            idx -= p;
                        }
                    }
                    int out = yo + q + s * (p * j + u);
                    if (u == 0) {
                        yr[out] = sr;
                        yi[out] = si;
                    } else {
                        double wr = tr[j * (p - 1) + u - 1];
                        double wi = ti[j * (p - 1) + u - 1];
                        yr[out] = sr * wr - si * wi;
                        yi[out] = sr * wi + si * wr;
                    }
                }
            }
        }
    }

    /** Prime factors of n, fours first (fewest passes), then twos, then odd primes ascending. */
    static int[] factor(int n) {
        int[] buf = new int[32];
        int count = 0;
        int r = n;
        while (r % 4 == 0) {
            buf[count++] = 4;
            r /= 4;
        }
        while (r % 2 == 0) {
            buf[count++] = 2;
            r /= 2;
        }
        for (int p = 3; (long) p * p <= r; p += 2) {
            while (r % p == 0) {
                buf[count++] = p;
                r /= p;
            }
        }
        if (r > 1) {
            buf[count++] = r;
        }
        return java.util.Arrays.copyOf(buf, count);
    }

    /**
     * Bluestein's algorithm: jk = (j² + k² − (k−j)²)/2 turns the DFT into a convolution with the
     * chirp exp(πi m²/n), done by a power-of-two FFT of length M ≥ 2n − 1.
     */
    private static final class Bluestein {
        private final int n;
        private final ComplexFft inner;
        private final double[] chirpRe; // exp(-πi k²/n)
        private final double[] chirpIm;
        private final double[] kernelRe; // FFT of the conjugate chirp, wrapped to length M
        private final double[] kernelIm;
        private final double[] workRe;
        private final double[] workIm;

        Bluestein(int n, boolean vector) {
            this.n = n;
            int m = Integer.highestOneBit(2 * n - 1);
            if (m < 2 * n - 1) {
                m <<= 1;
            }
            inner = new ComplexFft(m, vector);
            chirpRe = new double[n];
            chirpIm = new double[n];
            long twoN = 2L * n;
            for (int k = 0; k < n; k++) {
                // k² mod 2n keeps the angle small, so the chirp stays accurate for large n.
                long k2 = ((long) k * k) % twoN;
                double a = -Math.PI * k2 / n;
                chirpRe[k] = Math.cos(a);
                chirpIm[k] = Math.sin(a);
            }
            kernelRe = new double[m];
            kernelIm = new double[m];
            kernelRe[0] = chirpRe[0];
            kernelIm[0] = -chirpIm[0];
            for (int k = 1; k < n; k++) {
                kernelRe[k] = kernelRe[m - k] = chirpRe[k];
                kernelIm[k] = kernelIm[m - k] = -chirpIm[k];
            }
            inner.forward(kernelRe, kernelIm);
            workRe = new double[m];
            workIm = new double[m];
        }

        /** Transforms the sequence re/im[offset + k·stride], k < n, in place. */
        void transform(double[] re, double[] im, int offset, int stride) {
            int m = workRe.length;
            for (int k = 0; k < n; k++) {
                double xr = re[offset + k * stride];
                double xi = im[offset + k * stride];
                workRe[k] = xr * chirpRe[k] - xi * chirpIm[k];
                workIm[k] = xr * chirpIm[k] + xi * chirpRe[k];
            }
            java.util.Arrays.fill(workRe, n, m, 0.0);
            java.util.Arrays.fill(workIm, n, m, 0.0);
            inner.forward(workRe, workIm);
            for (int k = 0; k < m; k++) {
                double ar = workRe[k];
                double ai = workIm[k];
                workRe[k] = ar * kernelRe[k] - ai * kernelIm[k];
                workIm[k] = ar * kernelIm[k] + ai * kernelRe[k];
            }
            inner.inverse(workRe, workIm);
            for (int k = 0; k < n; k++) {
                double cr = workRe[k];
                double ci = workIm[k];
                re[offset + k * stride] = cr * chirpRe[k] - ci * chirpIm[k];
                im[offset + k * stride] = cr * chirpIm[k] + ci * chirpRe[k];
            }
        }
    }
}
