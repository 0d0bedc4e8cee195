package io.fluostream.imaging.denoise;

/**
 * Removes white Gaussian noise of known sigma from one plane by translation-invariant wavelet
 * shrinkage in two steps: a hard-thresholded pilot, then an empirical Wiener filter guided by it.
 *
 * <p>Transform: the undecimated ("à trous") 2-D Haar transform with orthonormal scaling, so every
 * detail band carries noise of exactly {@code sigma}. Undecimated means every shift of the Haar
 * grid is used and the inverse averages them (cycle spinning), which removes the blocking of a
 * decimated Haar transform. Borders are mirrored (half-sample symmetric).
 *
 * <p>Step 1 keeps detail coefficients above {@code pilotThreshold·sigma} and rebuilds a pilot
 * image. Step 2 transforms the pilot and scales each noisy coefficient {@code X} by
 * {@code E/(E + wienerStrength·sigma²)}, with {@code E} the pilot's coefficient energy averaged over
 * a 5×5 window of its band (an empirical Wiener filter after Ghael, Sayeed &amp; Baraniuk 1997, with
 * a local energy as in Mıhçak et al. 1999): where the pilot says there is signal the noisy
 * coefficient passes almost untouched (no thresholding bias), where it says there is none it is
 * damped. Averaging the energy matters at low light: a lone noise coefficient that survived the
 * pilot threshold no longer opens the gain fully, so it does not come back as a speckle. The
 * coarsest approximation is kept as it is; its noise is {@code sigma/2^levels} per pixel.
 *
 * <p>Layout: planes are held as arrays of rows ({@code [y][x]}) and shifted rows are made with
 * {@code System.arraycopy}, so that every hot loop indexes all its arrays by the same {@code x}:
 * the form the JIT vectorises (with mixed offsets into flat planes it falls back to scalar code,
 * about 5× slower). Cost is a few dozen flops per pixel per level; scratch is about
 * {@code (3·levels + 6)} planes. Instances own that scratch, sized for the last plane shape, and
 * are not thread-safe.
 */
public final class WaveletDenoiser {

    private final int levels;
    private final double pilotThreshold;
    private final double wienerStrength;

    private int height = -1;
    private int width = -1;
    /** Detail bands of the noisy plane, {@code [level][LH, HL, HH][y][x]}; the Wiener step rescales them. */
    private float[][][][] bands;
    private float[][] noisyApprox;
    /** Two approximation planes used in turn: a level reads one and writes the other. */
    private float[][] approxA;
    private float[][] approxB;
    /** Per band of the level in hand: the pilot's {@code p²} summed over {@code x ± 2}. */
    private float[][][] rowEnergy;

    // Row scratch.
    private float[] shifted;
    private float[] low0;
    private float[] high0;
    private float[] low1;
    private float[] high1;
    private float[][] pilotRow;
    /** Thresholded band rows of the pilot's inverse, a ring of {@code step + 1} rows per band. */
    private float[][][] keptRing;
    private float[] lowShifted;
    private float[] highShifted;
    private float[] squares;
    private float[] squaresLeft2;
    private float[] squaresLeft1;
    private float[] squaresRight1;
    private float[] squaresRight2;

    /**
     * @param levels         decomposition levels (≥ 1): the largest scale smoothed is about
     *                       {@code 2^levels} pixels; more levels flatten wide backgrounds better
     * @param pilotThreshold hard threshold of the pilot in units of sigma (typically 2.5–3.5):
     *                       higher keeps less noise but also less faint structure
     * @param wienerStrength multiplies the noise power in the Wiener gain (1 is the textbook
     *                       filter; above 1 smooths more, below 1 keeps more detail)
     */
    public WaveletDenoiser(int levels, double pilotThreshold, double wienerStrength) {
        if (levels < 1 || levels > 12) {
            throw new IllegalArgumentException("levels must be 1..12, got " + levels);
        }
        if (!(pilotThreshold >= 0) || !Double.isFinite(pilotThreshold)) {
            throw new IllegalArgumentException("pilot threshold must be finite and >= 0, got " + pilotThreshold);
        }
        if (!(wienerStrength > 0) || !Double.isFinite(wienerStrength)) {
            throw new IllegalArgumentException("Wiener strength must be finite and > 0, got " + wienerStrength);
        }
        this.levels = levels;
        this.pilotThreshold = pilotThreshold;
        this.wienerStrength = wienerStrength;
    }

    /**
     * Denoises the {@code height × width} plane stored row-major at {@code in[inStart…]} into
     * {@code out[outStart…]} ({@code out} may be {@code in}, same start).
     *
     * @param sigma standard deviation of the white Gaussian noise, in the plane's units (≥ 0)
     */
    public void denoise(float[] in, int inStart, int height, int width, double sigma, float[] out, int outStart) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("plane must have positive size, got " + height + "x" + width);
        }
        long size = (long) height * width;
        if (inStart < 0 || inStart + size > in.length || outStart < 0 || outStart + size > out.length) {
            throw new IllegalArgumentException("plane " + height + "x" + width + " does not fit at " + inStart
                    + " in " + in.length + " samples or at " + outStart + " in " + out.length);
        }
        if (!(sigma >= 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("sigma must be finite and >= 0, got " + sigma);
        }
        if (sigma == 0) {
            System.arraycopy(in, inStart, out, outStart, (int) size);
            return;
        }
        ensureScratch(height, width);
        int used = usableLevels(height, width);
        float threshold = (float) (pilotThreshold * sigma);
        float noisePower = (float) (wienerStrength * sigma * sigma);
        for (int y = 0; y < height; y++) {
            System.arraycopy(in, inStart + y * width, approxA[y], 0, width);
        }

        // Step 1: transform the noisy plane; rebuild a pilot from its large coefficients only.
        float[][] src = approxA;
        float[][] dst = approxB;
        for (int j = 0; j < used; j++) {
            forwardLevel(src, dst, 1 << j, bands[j]);
            float[][] t = src;
            src = dst;
            dst = t;
        }
        copyRows(src, noisyApprox);
        for (int j = used - 1; j >= 0; j--) {
            inverseLevel(src, dst, 1 << j, bands[j], threshold);
            float[][] t = src;
            src = dst;
            dst = t;
        }

        // Step 2: transform the pilot; on the way, Wiener-scale the noisy bands by its local energy.
        for (int j = 0; j < used; j++) {
            forwardPilotEnergy(src, dst, 1 << j);
            for (int b = 0; b < 3; b++) {
                wienerScale(rowEnergy[b], bands[j][b], noisePower);
            }
            float[][] t = src;
            src = dst;
            dst = t;
        }
        copyRows(noisyApprox, src);
        for (int j = used - 1; j >= 0; j--) {
            inverseLevel(src, dst, 1 << j, bands[j], -1f);
            float[][] t = src;
            src = dst;
            dst = t;
        }
        for (int y = 0; y < height; y++) {
            System.arraycopy(src[y], 0, out, outStart + y * width, width);
        }
    }

    /** Levels whose step still fits in the plane; more would only repeat the mirrored image. */
    private int usableLevels(int h, int w) {
        int used = 0;
        while (used < levels && (1 << used) < Math.max(h, w)) {
            used++;
        }
        return Math.max(used, 1);
    }

    private void ensureScratch(int h, int w) {
        if (h == height && w == width) {
            return;
        }
        bands = new float[levels][3][h][w];
        noisyApprox = new float[h][w];
        approxA = new float[h][w];
        approxB = new float[h][w];
        rowEnergy = new float[3][h][w];
        shifted = new float[w];
        low0 = new float[w];
        high0 = new float[w];
        low1 = new float[w];
        high1 = new float[w];
        pilotRow = new float[3][w];
        keptRing = new float[3][Math.min((1 << (levels - 1)) + 1, h)][w];
        lowShifted = new float[w];
        highShifted = new float[w];
        squares = new float[w];
        squaresLeft2 = new float[w];
        squaresLeft1 = new float[w];
        squaresRight1 = new float[w];
        squaresRight2 = new float[w];
        height = h;
        width = w;
    }

    private void copyRows(float[][] from, float[][] to) {
        for (int y = 0; y < height; y++) {
            System.arraycopy(from[y], 0, to[y], 0, width);
        }
    }

    /**
     * One level of the undecimated Haar transform with step {@code s}: approximation {@code a} →
     * next approximation {@code next} and bands {@code out} = LH (low along x, high along y), HL,
     * HH. The 1 and ½ factors of the row and column sums make every 2-D band orthonormal
     * (½·four samples). Row sums are recomputed per output row into row buffers rather than
     * stored as planes: adds are cheaper than memory traffic.
     */
    private void forwardLevel(float[][] a, float[][] next, int s, float[][][] out) {
        int w = width;
        for (int y = 0; y < height; y++) {
            haarRow(a[y], s, low0, high0);
            haarRow(a[mirror(y + s, height)], s, low1, high1);
            float[] n = next[y];
            float[] lh = out[0][y];
            float[] hl = out[1][y];
            float[] hh = out[2][y];
            for (int x = 0; x < w; x++) {
                float l0 = low0[x];
                float l1 = low1[x];
                float h0 = high0[x];
                float h1 = high1[x];
                n[x] = 0.5f * (l0 + l1);
                lh[x] = 0.5f * (l0 - l1);
                hl[x] = 0.5f * (h0 + h1);
                hh[x] = 0.5f * (h0 - h1);
            }
        }
    }

    /**
     * {@link #forwardLevel} for the pilot, without storing its bands: each band row is made in a
     * row buffer and only its energy summed over {@code x ± 2} is kept, in {@link #rowEnergy}.
     */
    private void forwardPilotEnergy(float[][] a, float[][] next, int s) {
        int w = width;
        float[] lh = pilotRow[0];
        float[] hl = pilotRow[1];
        float[] hh = pilotRow[2];
        for (int y = 0; y < height; y++) {
            haarRow(a[y], s, low0, high0);
            haarRow(a[mirror(y + s, height)], s, low1, high1);
            float[] n = next[y];
            for (int x = 0; x < w; x++) {
                float l0 = low0[x];
                float l1 = low1[x];
                float h0 = high0[x];
                float h1 = high1[x];
                n[x] = 0.5f * (l0 + l1);
                lh[x] = 0.5f * (l0 - l1);
                hl[x] = 0.5f * (h0 + h1);
                hh[x] = 0.5f * (h0 - h1);
            }
            for (int b = 0; b < 3; b++) {
                rowEnergySums(pilotRow[b], rowEnergy[b][y]);
            }
        }
    }

    /** Haar row pass: {@code low[x] = a[x] + a[x+s]}, {@code high[x] = a[x] − a[x+s]}, mirrored. */
    private void haarRow(float[] a, int s, float[] low, float[] high) {
        float[] q = shifted;
        shiftRow(a, q, s);
        for (int x = 0; x < width; x++) {
            float p = a[x];
            low[x] = p + q[x];
            high[x] = p - q[x];
        }
    }

    /** {@code out[x] = Σ p[x+d]²} for {@code d = −2…2}, mirrored at the row's ends. */
    private void rowEnergySums(float[] p, float[] out) {
        int w = width;
        float[] sq = squares;
        for (int x = 0; x < w; x++) {
            sq[x] = p[x] * p[x];
        }
        shiftRow(sq, squaresLeft2, -2);
        shiftRow(sq, squaresLeft1, -1);
        shiftRow(sq, squaresRight1, 1);
        shiftRow(sq, squaresRight2, 2);
        float[] l2 = squaresLeft2;
        float[] l1 = squaresLeft1;
        float[] r1 = squaresRight1;
        float[] r2 = squaresRight2;
        for (int x = 0; x < w; x++) {
            out[x] = l2[x] + l1[x] + sq[x] + r1[x] + r2[x];
        }
    }

    /** {@code dst[x] = src[mirror(x + d)]}: a block copy for the part inside the row, then the ends. */
    private void shiftRow(float[] src, float[] dst, int d) {
        int w = width;
        int from = Math.max(0, -d);
        int to = Math.min(w, w - d);
        if (to > from) {
            System.arraycopy(src, from + d, dst, from, to - from);
        }
        for (int x = 0; x < Math.min(from, w); x++) {
            dst[x] = src[mirror(x + d, w)];
        }
        for (int x = Math.max(to, 0); x < w; x++) {
            dst[x] = src[mirror(x + d, w)];
        }
    }

    /**
     * The Wiener step for one band: {@code x *= E/(E + noisePower)} with {@code E} the mean of the
     * pilot's {@code p²} over the 5×5 window (mirrored at the borders), from its row sums.
     */
    private void wienerScale(float[][] rows, float[][] band, float noisePower) {
        int h = height;
        int w = width;
        for (int y = 0; y < h; y++) {
            float[] ra = rows[mirror(y - 2, h)];
            float[] rb = rows[mirror(y - 1, h)];
            float[] rc = rows[y];
            float[] rd = rows[mirror(y + 1, h)];
            float[] re = rows[mirror(y + 2, h)];
            float[] x = band[y];
            for (int i = 0; i < w; i++) {
                float e = (ra[i] + rb[i] + rc[i] + rd[i] + re[i]) * (1f / 25f);
                x[i] *= e / (e + noisePower);
            }
        }
    }

    /**
     * Inverse of {@link #forwardLevel}: approximation {@code a} and a level's bands → the finer
     * approximation {@code out}. Each sample is covered by two Haar pairs per axis (the one starting
     * at it and the one ending at it); the two reconstructions are averaged, the least-squares
     * inverse of the redundant transform. At the start of an axis only the first pair exists.
     * With {@code threshold ≥ 0} the bands are hard-thresholded as they are read (the pilot).
     */
    private void inverseLevel(float[][] a, float[][] out, int s, float[][][] band, float threshold) {
        int w = width;
        float[] lo = low0;
        float[] hi = high0;
        boolean pilot = threshold >= 0;
        int ring = Math.min(s + 1, height); // with s ≥ height no partner row exists
        for (int y = 0; y < height; y++) {
            float[] a0 = a[y];
            float[] lh0 = pilot ? kept(band[0][y], threshold, keptRing[0][y % ring]) : band[0][y];
            float[] hl0 = pilot ? kept(band[1][y], threshold, keptRing[1][y % ring]) : band[1][y];
            float[] hh0 = pilot ? kept(band[2][y], threshold, keptRing[2][y % ring]) : band[2][y];
            if (y >= s) {
                // Row y − s was thresholded s iterations ago; a ring of s + 1 rows still holds it.
                float[] a1 = a[y - s];
                float[] lh1 = pilot ? keptRing[0][(y - s) % ring] : band[0][y - s];
                float[] hl1 = pilot ? keptRing[1][(y - s) % ring] : band[1][y - s];
                float[] hh1 = pilot ? keptRing[2][(y - s) % ring] : band[2][y - s];
                for (int x = 0; x < w; x++) {
                    lo[x] = 0.5f * ((a0[x] + lh0[x]) + (a1[x] - lh1[x]));
                    hi[x] = 0.5f * ((hl0[x] + hh0[x]) + (hl1[x] - hh1[x]));
                }
            } else {
                for (int x = 0; x < w; x++) {
                    lo[x] = a0[x] + lh0[x];
                    hi[x] = hl0[x] + hh0[x];
                }
            }
            float[] o = out[y];
            int head = Math.min(s, w);
            for (int x = 0; x < head; x++) {
                o[x] = 0.5f * (lo[x] + hi[x]);
            }
            if (w > s) {
                System.arraycopy(lo, 0, lowShifted, s, w - s);
                System.arraycopy(hi, 0, highShifted, s, w - s);
                float[] ls = lowShifted;
                float[] hs = highShifted;
                for (int x = s; x < w; x++) {
                    o[x] = 0.25f * ((lo[x] + hi[x]) + (ls[x] - hs[x]));
                }
            }
        }
    }

    /**
     * Hard-thresholds {@code row} into {@code into} and returns it. The step
     * {@code |v| > t ? 1 : 0} is written as {@code min(1, max(0, (|v| − t)·1e30))}, which differs
     * only within 1e-30 of the threshold and, unlike a conditional, is vectorised.
     */
    private float[] kept(float[] row, float threshold, float[] into) {
        for (int x = 0; x < width; x++) {
            float v = row[x];
            into[x] = v * Math.min(1f, Math.max(0f, (Math.abs(v) - threshold) * 1e30f));
        }
        return into;
    }

    /** Half-sample symmetric extension: any index folded into {@code [0, n)}. */
    private static int mirror(int i, int n) {
        int period = 2 * n;
        int m = Math.floorMod(i, period);
        return m < n ? m : period - 1 - m;
    }
}
