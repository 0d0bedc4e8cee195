package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.SeparableGaussian;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The samples that blind spectra estimation factorises, taken from camera tiles: each sample is a
 * C-vector of non-negative label mixtures, seen twice, in two statistically independent halves of
 * the pixels. The estimator chooses samples by one look ({@link #select}) and averages the other
 * ({@link #average}), so that the noise that made a sample look pure is not the noise averaged
 * into its spectrum.
 *
 * <p>The two halves: the pixels of a checkerboard's black squares, and those of its white squares.
 * Each half is completed into a full plane by giving every pixel of the other colour the mean of
 * its four neighbours (which are all of the half's colour), then smoothed with a Gaussian of
 * {@value #SMOOTHING_PX} px; the two smoothed planes see the same structures through disjoint, hence
 * independent, photon counts.
 *
 * <p>Two kinds of sample:
 * <ul>
 *   <li><b>Intensities</b>, less a uniform level: the camera offset plus any diffuse background,
 *       the per-channel mean of the dimmest tenth. Pixels where one label sits alone give its
 *       spectrum; the brighter half of the pixels is kept.</li>
 *   <li><b>Edges</b>: the change of the channels across an edge, along the direction in which the
 *       channels' sum changes fastest, where that change stands {@value #EDGE_NOISE_SIGMAS} noise
 *       sigmas out. A uniform level does not change, and a structure lying on another one
 *       (a nucleus inside a cell body) changes across its own outline while the one below barely
 *       does, so edges show labels pure that intensities only show mixed: in the forward model,
 *       the nuclei's label has pure pixels only in a few small puncta, but every nucleus outline
 *       is a pure edge of it. Before differencing, each plane loses its Gaussian blur of
 *       {@value #EDGE_SURROUND_PX} px (a band-pass): a cell body's slow thickness profile would
 *       otherwise add ~10 % of its own spectrum to every nucleus edge. Kept only where every
 *       channel changes the same way (in the choosing look): the spectra are non-negative, so a
 *       change with mixed signs is two labels changing in opposite directions, a difference of
 *       spectra that no single label has.</li>
 * </ul>
 * Measured (forward model, 256², 4 frames of each of streams 1–6, photon level 20, worst angle of
 * the three labels): intensities alone 5–38°; with edges but without the band-pass 3.6–6.5°; with
 * it but without the sign rule 1.7–4.2°, yet 5.3–10.3° on noise-free frames; from one look instead
 * of two 8.8–12.5°; all of it 2.1–4.6° (noise-free 2.8–4.8°, 100 photons 1.1–3.4°; streams 7–14,
 * not used to choose the settings: 2.0–4.0° at 20 photons).
 *
 * <p>Samples are stored column-major: sample j's channel c at {@code [j * channels + c]}.
 */
final class SpectralSamples {

    /** Gaussian smoothing of each half, px: noise down, purity of structures a few px wide kept. */
    static final double SMOOTHING_PX = 2.0;
    /** Gaussian whose blur is taken off before edges are read, px (the band-pass's low end). */
    static final double EDGE_SURROUND_PX = 12.0;
    /** An edge is used where its change stands this many noise sigmas out. */
    static final double EDGE_NOISE_SIGMAS = 4;
    /**
     * Edge samples are scaled by this before factorisation: a change per px is a fraction of the step
     * it crosses, and ×2 puts edges on the scale of dimmer intensities, so that neither kind swamps
     * the fit (2 and 4 measured alike; 12 let edges' outliers through to the pure labels).
     */
    static final double EDGE_WEIGHT = 2;
    /** Share of the intensity samples, the dimmest by their sum, that measures the uniform level. */
    static final double BACKGROUND_QUANTILE = 0.1;
    /** Most samples kept of each kind (an even random share beyond this): more adds time, not accuracy. */
    static final int MAX_PER_KIND = 20_000;
    /** Most pixels of the offered tiles read for intensities (an even random share beyond). */
    static final int MAX_PIXELS_READ = 1 << 20;

    final int channels;
    /** The choosing look, C × count column-major. */
    final double[] select;
    /** The averaging look, same layout. */
    final double[] average;
    final int count;
    final int intensities;
    final int edges;
    /** Per channel: the uniform level taken off intensities (averaging look), ADU. */
    final double[] background;
    /** Pixels of the tiles offered. */
    final long pixelsOffered;

    private SpectralSamples(int channels, double[] select, double[] average, int intensities, int edges,
                            double[] background, long pixelsOffered) {
        this.channels = channels;
        this.select = select;
        this.average = average;
        this.count = intensities + edges;
        this.intensities = intensities;
        this.edges = edges;
        this.background = background;
        this.pixelsOffered = pixelsOffered;
    }

    /** Border of a tile without samples: the smoothing's reach plus the difference's one px. */
    static int border() {
        return (int) Math.ceil(3 * SMOOTHING_PX) + 1;
    }

    /** Smallest tile side: a border each side and 8 px of samples between. */
    static int minimumSide() {
        return 2 * border() + 8;
    }

    /**
     * Samples of {@code tiles} (each C × H × W camera ADU, the same C for all; an offset is fine).
     *
     * @throws IllegalArgumentException on no tiles, mixed channel counts, a tile smaller than
     *     {@link #minimumSide()} either way, or non-finite values
     */
    static SpectralSamples of(List<Image> tiles) {
        if (tiles == null || tiles.isEmpty()) {
            throw new IllegalArgumentException("no frames to estimate spectra from");
        }
        int nc = tiles.get(0).channels();
        long interior = 0;
        long offered = 0;
        int b = border();
        for (Image t : tiles) {
            if (t.channels() != nc) {
                throw new IllegalArgumentException("frames have " + nc + " and " + t.channels()
                        + " channels: estimate from frames of one channel layout");
            }
            if (t.height() < minimumSide() || t.width() < minimumSide()) {
                throw new IllegalArgumentException("a " + t.height() + "x" + t.width() + " frame is too small to estimate"
                        + " spectra from: need at least " + minimumSide() + "x" + minimumSide() + " px");
            }
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("frame values must be finite; found " + v);
                }
            }
            interior += (long) (t.height() - 2 * b) * (t.width() - 2 * b);
            offered += t.planeSize();
        }
        double keepIntensity = Math.min(1, (double) MAX_PIXELS_READ / interior);
        SplittableRandom rng = new SplittableRandom(interior);
        Growing iSel = new Growing(nc);
        Growing iAvg = new Growing(nc);
        Growing eSel = new Growing(nc);
        Growing eAvg = new Growing(nc);
        SeparableGaussian smoothing = new SeparableGaussian(SMOOTHING_PX);
        SeparableGaussian surround = new SeparableGaussian(EDGE_SURROUND_PX);
        // A whole-number level per channel comes off first, the same for every frame: camera
        // frames are whole ADU, so the samples are then exactly those of the frames less any other
        // whole-number offset, and float sums stay small.
        double[] reference = new double[nc];
        Image first = tiles.get(0);
        for (int c = 0; c < nc; c++) {
            float[] plane = Arrays.copyOfRange(first.data(), first.planeOffset(c), first.planeOffset(c) + first.planeSize());
            Arrays.sort(plane);
            reference[c] = Math.floor(plane[plane.length / 2]);
        }
        for (Image t : tiles) {
            read(t, reference, smoothing, surround, keepIntensity, rng, iSel, iAvg, eSel, eAvg);
        }

        // The uniform level: the dimmest tenth of the intensities by their choosing look's sum.
        int ni = iSel.size;
        double[] sums = new double[ni];
        for (int j = 0; j < ni; j++) {
            for (int c = 0; c < nc; c++) {
                sums[j] += iSel.data[j * nc + c];
            }
        }
        double[] sorted = sums.clone();
        Arrays.sort(sorted);
        double dim = sorted[(int) (BACKGROUND_QUANTILE * (ni - 1))];
        double bright = sorted[(ni - 1) / 2];
        double[] levelSelect = new double[nc];
        double[] levelAverage = new double[nc];
        int dimCount = 0;
        for (int j = 0; j < ni; j++) {
            if (sums[j] <= dim) {
                dimCount++;
                for (int c = 0; c < nc; c++) {
                    levelSelect[c] += iSel.data[j * nc + c];
                    levelAverage[c] += iAvg.data[j * nc + c];
                }
            }
        }
        for (int c = 0; c < nc; c++) {
            levelSelect[c] /= dimCount;
            levelAverage[c] /= dimCount;
        }
        double[] level = new double[nc];
        for (int c = 0; c < nc; c++) {
            level[c] = levelAverage[c] + reference[c];
        }

        // The brighter half of the intensities, less the level; then at most MAX_PER_KIND of each kind.
        int brightCount = 0;
        for (int j = 0; j < ni; j++) {
            brightCount += sums[j] >= bright ? 1 : 0;
        }
        double keepBright = Math.min(1, (double) MAX_PER_KIND / brightCount);
        double keepEdge = Math.min(1, (double) MAX_PER_KIND / Math.max(1, eSel.size));
        Growing sel = new Growing(nc);
        Growing avg = new Growing(nc);
        double[] s = new double[nc];
        double[] a = new double[nc];
        int intensities = 0;
        for (int j = 0; j < ni; j++) {
            if (sums[j] >= bright && (keepBright == 1 || rng.nextDouble() < keepBright)) {
                for (int c = 0; c < nc; c++) {
                    s[c] = iSel.data[j * nc + c] - levelSelect[c];
                    a[c] = iAvg.data[j * nc + c] - levelAverage[c];
                }
                sel.add(s);
                avg.add(a);
                intensities++;
            }
        }
        int edges = 0;
        for (int j = 0; j < eSel.size; j++) {
            if (keepEdge == 1 || rng.nextDouble() < keepEdge) {
                System.arraycopy(eSel.data, j * nc, s, 0, nc);
                System.arraycopy(eAvg.data, j * nc, a, 0, nc);
                sel.add(s);
                avg.add(a);
                edges++;
            }
        }
        return new SpectralSamples(nc, sel.trimmed(), avg.trimmed(), intensities, edges, level, offered);
    }

    /** Adds one tile's intensities (a random share {@code keep}) and edges, {@code reference} taken off first. */
    private static void read(Image tile, double[] reference, SeparableGaussian smoothing, SeparableGaussian surround, double keep,
                             SplittableRandom rng, Growing iSel, Growing iAvg, Growing eSel, Growing eAvg) {
        int nc = tile.channels();
        int h = tile.height();
        int w = tile.width();
        int n = h * w;
        float[][] look = new float[nc][];
        float[][] other = new float[nc][];
        float[][] lookBand = new float[nc][];
        float[][] otherBand = new float[nc][];
        for (int c = 0; c < nc; c++) {
            float[] plane = Arrays.copyOfRange(tile.data(), tile.planeOffset(c), tile.planeOffset(c) + n);
            float level = (float) reference[c];
            for (int i = 0; i < n; i++) {
                plane[i] -= level;
            }
            look[c] = smoothing.apply(half(plane, h, w, 0), h, w);
            other[c] = smoothing.apply(half(plane, h, w, 1), h, w);
            lookBand[c] = bandPass(look[c], surround, h, w);
            otherBand[c] = bandPass(other[c], surround, h, w);
        }
        // Gradient of the channels' sum (choosing look): direction of each edge sample and the noise.
        double[] gx = new double[n];
        double[] gy = new double[n];
        for (int y = 1; y < h - 1; y++) {
            for (int x = 1; x < w - 1; x++) {
                int i = y * w + x;
                double sx = 0;
                double sy = 0;
                for (int c = 0; c < nc; c++) {
                    sx += lookBand[c][i + 1] - lookBand[c][i - 1];
                    sy += lookBand[c][i + w] - lookBand[c][i - w];
                }
                gx[i] = 0.5 * sx;
                gy[i] = 0.5 * sy;
            }
        }
        int b = border();
        double noise = robustSigma(gx, h, w, b);
        double[] s = new double[nc];
        double[] a = new double[nc];
        for (int y = b; y < h - b; y++) {
            for (int x = b; x < w - b; x++) {
                int i = y * w + x;
                if (keep == 1 || rng.nextDouble() < keep) {
                    for (int c = 0; c < nc; c++) {
                        s[c] = look[c][i];
                        a[c] = other[c][i];
                    }
                    iSel.add(s);
                    iAvg.add(a);
                }
                double magnitude = Math.hypot(gx[i], gy[i]);
                if (!(magnitude > EDGE_NOISE_SIGMAS * noise)) {
                    continue;
                }
                double ux = gx[i] / magnitude;
                double uy = gy[i] / magnitude;
                boolean sameWay = true;
                for (int c = 0; c < nc; c++) {
                    float[] l = lookBand[c];
                    float[] o = otherBand[c];
                    s[c] = EDGE_WEIGHT * 0.5 * (ux * (l[i + 1] - l[i - 1]) + uy * (l[i + w] - l[i - w]));
                    a[c] = EDGE_WEIGHT * 0.5 * (ux * (o[i + 1] - o[i - 1]) + uy * (o[i + w] - o[i - w]));
                    sameWay &= s[c] >= 0;
                }
                if (sameWay) {
                    eSel.add(s);
                    eAvg.add(a);
                }
            }
        }
    }

    /**
     * One checkerboard half of {@code plane} as a full plane: pixels with {@code (x + y) % 2 == parity}
     * as they are, the others the mean of their (up to four) neighbours, all of that parity.
     */
    static float[] half(float[] plane, int h, int w, int parity) {
        float[] out = plane.clone();
        for (int y = 0; y < h; y++) {
            for (int x = (y + parity + 1) & 1; x < w; x += 2) {
                int i = y * w + x;
                double sum = 0;
                int count = 0;
                if (x > 0) {
                    sum += plane[i - 1];
                    count++;
                }
                if (x < w - 1) {
                    sum += plane[i + 1];
                    count++;
                }
                if (y > 0) {
                    sum += plane[i - w];
                    count++;
                }
                if (y < h - 1) {
                    sum += plane[i + w];
                    count++;
                }
                out[i] = (float) (sum / count);
            }
        }
        return out;
    }

    /** {@code plane} less its wide Gaussian blur. */
    private static float[] bandPass(float[] plane, SeparableGaussian surround, int h, int w) {
        float[] wide = surround.apply(plane, h, w);
        float[] out = new float[plane.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = plane[i] - wide[i];
        }
        return out;
    }

    /** 1.4826 × the median absolute value of {@code v} inside the border (mean zero: a difference). */
    private static double robustSigma(double[] v, int h, int w, int b) {
        double[] abs = new double[(h - 2 * b) * (w - 2 * b)];
        int k = 0;
        for (int y = b; y < h - b; y++) {
            for (int x = b; x < w - b; x++) {
                abs[k++] = Math.abs(v[y * w + x]);
            }
        }
        Arrays.sort(abs);
        return 1.4826 * abs[abs.length / 2];
    }

    /** A growing column-major C × n buffer. */
    private static final class Growing {
        final int nc;
        double[] data;
        int size;

        Growing(int nc) {
            this.nc = nc;
            this.data = new double[nc * 1024];
        }

        void add(double[] v) {
            if ((size + 1) * nc > data.length) {
                data = Arrays.copyOf(data, data.length * 2);
            }
            System.arraycopy(v, 0, data, size * nc, nc);
            size++;
        }

        double[] trimmed() {
            return Arrays.copyOf(data, size * nc);
        }
    }
}
