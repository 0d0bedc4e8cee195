package io.fluostream.imaging.sim;

import io.fluostream.imaging.Image;

/**
 * The default emission spectra of the simulated fluorophores sampled in the detection channels (the
 * C×F mixing matrix), and mixing of abundance planes into channel planes with it.
 *
 * <p>Each fluorophore emits a skewed Gaussian line (σ 18 nm on the blue side, 32 nm on the red
 * tail, as dyes have); the peaks sit around 580 nm, spaced so that neighbouring lines overlap
 * substantially (spacing 14 + 4.5·F nm, at most 40 nm). The C detection bands split the range from
 * 35 nm below the bluest peak to 55 nm above the reddest one into equal contiguous bands. Entry
 * (c, f) is the fraction of fluorophore f's detected photons that land in band c, so every column
 * is non-negative and sums to 1. With that layout the condition number of the matrix is 3–8 for
 * every 2 ≤ F ≤ C ≤ 10 (1 for F = 1): unmixing matters but is well posed.
 */
public final class SpectralMixing {

    private static final double CENTRE_NM = 580;
    private static final double BLUE_SIGMA_NM = 18;
    private static final double RED_SIGMA_NM = 32;
    private static final double BLUE_PAD_NM = 35;
    private static final double RED_PAD_NM = 55;
    private static final double STEP_NM = 0.1;

    private SpectralMixing() {
    }

    /** Emission peaks of the F fluorophores, nm, blue to red. */
    public static double[] emissionPeaksNm(int fluorophores) {
        requirePositive("fluorophores", fluorophores);
        double spacing = Math.min(40, 14 + 4.5 * fluorophores);
        double[] peaks = new double[fluorophores];
        for (int f = 0; f < fluorophores; f++) {
            peaks[f] = CENTRE_NM + (f - (fluorophores - 1) / 2.0) * spacing;
        }
        return peaks;
    }

    /** Edges of the C contiguous detection bands, nm (C + 1 values, increasing). */
    public static double[] bandEdgesNm(int channels, int fluorophores) {
        requirePositive("channels", channels);
        double[] peaks = emissionPeaksNm(fluorophores);
        double lo = peaks[0] - BLUE_PAD_NM;
        double hi = peaks[fluorophores - 1] + RED_PAD_NM;
        double[] edges = new double[channels + 1];
        for (int c = 0; c <= channels; c++) {
            edges[c] = lo + (hi - lo) * c / channels;
        }
        return edges;
    }

    /** Centre wavelength of each detection band, nm: the channels' emission wavelengths for metadata. */
    public static double[] channelWavelengthsNm(int channels, int fluorophores) {
        double[] edges = bandEdgesNm(channels, fluorophores);
        double[] centres = new double[channels];
        for (int c = 0; c < channels; c++) {
            centres[c] = 0.5 * (edges[c] + edges[c + 1]);
        }
        return centres;
    }

    /**
     * The C×F mixing matrix {@code m[c][f]}: fraction of fluorophore f's detected photons in channel c.
     * Depends only on (channels, fluorophores); a fresh array on every call.
     */
    public static double[][] defaultSpectra(int channels, int fluorophores) {
        requirePositive("channels", channels);
        requirePositive("fluorophores", fluorophores);
        double[] peaks = emissionPeaksNm(fluorophores);
        double[] edges = bandEdgesNm(channels, fluorophores);
        double[][] m = new double[channels][fluorophores];
        for (int f = 0; f < fluorophores; f++) {
            double total = 0;
            for (int c = 0; c < channels; c++) {
                // Midpoint rule on a 0.1 nm grid: the line is smooth, so this is exact to ~1e-6.
                int steps = (int) Math.round((edges[c + 1] - edges[c]) / STEP_NM);
                double h = (edges[c + 1] - edges[c]) / steps;
                double sum = 0;
                for (int i = 0; i < steps; i++) {
                    sum += emission(edges[c] + (i + 0.5) * h, peaks[f]);
                }
                m[c][f] = sum * h;
                total += m[c][f];
            }
            for (int c = 0; c < channels; c++) {
                m[c][f] /= total;
            }
        }
        return m;
    }

    /** Relative emission of a line peaking at {@code peakNm}, at {@code lambdaNm} (1 at the peak). */
    static double emission(double lambdaNm, double peakNm) {
        double sigma = lambdaNm < peakNm ? BLUE_SIGMA_NM : RED_SIGMA_NM;
        double z = (lambdaNm - peakNm) / sigma;
        return Math.exp(-0.5 * z * z);
    }

    /**
     * Mixes F abundance planes into C channel planes: {@code out(c) = Σ_f m[c][f] · abundances(f)}
     * (sums in double, stored as float).
     */
    public static void mix(double[][] m, Image abundances, Image out) {
        int channels = m.length;
        int fluorophores = m[0].length;
        if (abundances.channels() != fluorophores || out.channels() != channels
                || abundances.height() != out.height() || abundances.width() != out.width()) {
            throw new IllegalArgumentException("mixing a " + channels + "x" + fluorophores + " matrix needs "
                    + fluorophores + " abundance planes and " + channels + " output planes of one size, got "
                    + abundances + " -> " + out);
        }
        int n = abundances.planeSize();
        float[] a = abundances.data();
        float[] o = out.data();
        for (int c = 0; c < channels; c++) {
            double[] row = m[c];
            int oOff = out.planeOffset(c);
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int f = 0; f < fluorophores; f++) {
                    sum += row[f] * a[f * n + i];
                }
                o[oOff + i] = (float) sum;
            }
        }
    }

    /** Allocating form of {@link #mix(double[][], Image, Image)}. */
    public static Image mix(double[][] m, Image abundances) {
        Image out = new Image(m.length, abundances.height(), abundances.width());
        mix(m, abundances, out);
        return out;
    }

    /**
     * 2-norm condition number σ_max/σ_min of a C×F matrix with C ≥ F (infinite when rank deficient),
     * from the eigenvalues of MᵀM by cyclic Jacobi rotations.
     */
    public static double conditionNumber(double[][] m) {
        int rows = m.length;
        int cols = m[0].length;
        if (rows < cols) {
            throw new IllegalArgumentException("condition number needs rows >= columns, got " + rows + "x" + cols);
        }
        double[][] g = new double[cols][cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int r = 0; r < rows; r++) {
                    s += m[r][i] * m[r][j];
                }
                g[i][j] = s;
            }
        }
        double[] eig = symmetricEigenvalues(g);
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double e : eig) {
            min = Math.min(min, e);
            max = Math.max(max, e);
        }
        return min <= max * 1e-24 ? Double.POSITIVE_INFINITY : Math.sqrt(max / min);
    }

    /** Eigenvalues of a small symmetric matrix (destroys {@code a}). */
    static double[] symmetricEigenvalues(double[][] a) {
        int n = a.length;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-30) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    // Rotation that zeroes a[p][q] (Golub & Van Loan, symmetric Schur).
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                }
            }
        }
        double[] eig = new double[n];
        for (int i = 0; i < n; i++) {
            eig[i] = a[i][i];
        }
        return eig;
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
    }
}
