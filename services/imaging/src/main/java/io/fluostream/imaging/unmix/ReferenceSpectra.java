package io.fluostream.imaging.unmix;

import io.fluostream.imaging.MatrixText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;

/**
 * The mixing matrix of linear unmixing: {@code C × F} reference emission spectra, one column per
 * fluorophore, giving how much of a unit abundance of fluorophore {@code f} each detection channel
 * {@code c} records. Immutable and validated on construction.
 *
 * <p>A valid matrix has {@code C ≥ F ≥ 1}, only finite non-negative values, no all-zero column and
 * full column rank: {@link #RANK_TOLERANCE} bounds the smallest singular value relative to the
 * largest. Abundances come out in the units the columns imply: with columns summing to 1 an
 * abundance is the fluorophore's total signal (ADU) over all channels.
 */
public final class ReferenceSpectra {

    /**
     * Smallest singular value, relative to the largest, that still counts as full rank. Input
     * frames are float32 (about 7 significant digits), so a direction of the spectra weaker than
     * ~1e-6 of the strongest cannot be told apart from rounding in the data.
     */
    public static final double RANK_TOLERANCE = 1e-6;

    private final int channels;
    private final int fluorophores;
    /** Row-major: {@code values[c * fluorophores + f]}. */
    private final double[] values;
    private final double conditionNumber;

    private ReferenceSpectra(int channels, int fluorophores, double[] values) {
        this.channels = channels;
        this.fluorophores = fluorophores;
        this.values = values;
        this.conditionNumber = validate(channels, fluorophores, values);
    }

    /**
     * Spectra from {@code rows}: one row per detection channel, each with one value per
     * fluorophore ({@code rows[c][f]}). The array is copied.
     *
     * @throws IllegalArgumentException if the matrix is ragged, empty, has more fluorophores than
     *     channels, holds a negative or non-finite value, or is rank-deficient
     */
    public static ReferenceSpectra of(double[][] rows) {
        if (rows == null || rows.length == 0) {
            throw new IllegalArgumentException("reference spectra need at least one row (detection channel)");
        }
        int f = rows[0] == null ? 0 : rows[0].length;
        if (f == 0) {
            throw new IllegalArgumentException("reference spectra need at least one column (fluorophore); row 0 is empty");
        }
        double[] v = new double[rows.length * f];
        for (int c = 0; c < rows.length; c++) {
            if (rows[c] == null || rows[c].length != f) {
                throw new IllegalArgumentException("spectra row " + c + " has " + (rows[c] == null ? 0 : rows[c].length)
                        + " values, expected " + f + " (one per fluorophore, as in row 0)");
            }
            System.arraycopy(rows[c], 0, v, c * f, f);
        }
        return new ReferenceSpectra(rows.length, f, v);
    }

    /**
     * Parses the compact text form {@code "m00,m01,...;m10,m11,...;..."}: one row per detection
     * channel separated by {@code ';'}, one value per fluorophore separated by {@code ','}.
     * Whitespace around values is ignored, as is one trailing {@code ';'}.
     *
     * @throws IllegalArgumentException naming the row and value that could not be read, or any
     *     problem {@link #of(double[][])} reports
     */
    public static ReferenceSpectra parse(String text) {
        return of(MatrixText.parse(text));
    }

    /** The text form {@link #parse(String)} reads back to an equal matrix (shortest exact decimals). */
    public String toText() {
        return MatrixText.format(toRows());
    }


    /**
     * A short name for these exact values: the first 8 hex digits of the SHA-256 of
     * {@link #toText()}. Recorded in provenance, so that every output frame says which spectra
     * unmixed it, and in learned models, which are only valid for the spectra they were trained on.
     */
    public String fingerprint() {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(toText().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(digest, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** Number of detection channels {@code C} (rows). */
    public int channels() {
        return channels;
    }

    /** Number of fluorophores {@code F} (columns). */
    public int fluorophores() {
        return fluorophores;
    }

    /** Emission of fluorophore {@code f} recorded in detection channel {@code c}. */
    public double get(int c, int f) {
        if (c < 0 || c >= channels || f < 0 || f >= fluorophores) {
            throw new IndexOutOfBoundsException(
                    "(" + c + ", " + f + ") outside " + channels + " channels x " + fluorophores + " fluorophores");
        }
        return values[c * fluorophores + f];
    }

    /** The matrix as {@code C} rows of {@code F} values (a copy). */
    public double[][] toRows() {
        double[][] rows = new double[channels][];
        for (int c = 0; c < channels; c++) {
            rows[c] = Arrays.copyOfRange(values, c * fluorophores, (c + 1) * fluorophores);
        }
        return rows;
    }

    /**
     * Ratio of largest to smallest singular value: by how much unmixing can amplify noise in the
     * worst direction (1 for orthogonal spectra; large for strongly overlapping ones).
     */
    public double conditionNumber() {
        return conditionNumber;
    }

    /** The Gram matrix {@code MᵀM} ({@code F × F}, row-major): the normal equations of unmixing. */
    double[] gram() {
        return gram(values, channels, fluorophores, fluorophores);
    }

    /** The pseudo-inverse {@code (MᵀM)⁻¹Mᵀ} ({@code F × C}, row-major). */
    double[] pseudoInverse() {
        double[] gInv = SymmetricMatrices.inversePositiveDefinite(gram(), fluorophores);
        double[] p = new double[fluorophores * channels];
        for (int f = 0; f < fluorophores; f++) {
            for (int c = 0; c < channels; c++) {
                double s = 0;
                for (int k = 0; k < fluorophores; k++) {
                    s += gInv[f * fluorophores + k] * values[c * fluorophores + k];
                }
                p[f * channels + c] = s;
            }
        }
        return p;
    }

    /** Row-major values, {@code [c * F + f]} (a copy). */
    double[] values() {
        return values.clone();
    }

    /** Gram matrix of the leading {@code k} columns. */
    private static double[] gram(double[] v, int channels, int stride, int k) {
        double[] g = new double[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int c = 0; c < channels; c++) {
                    s += v[c * stride + i] * v[c * stride + j];
                }
                g[i * k + j] = s;
            }
        }
        return g;
    }

    /** Checks the matrix and returns its condition number. */
    private static double validate(int channels, int fluorophores, double[] v) {
        if (channels < fluorophores) {
            throw new IllegalArgumentException("reference spectra have " + channels + " channels for " + fluorophores
                    + " fluorophores: unmixing needs at least as many detection channels as fluorophores");
        }
        for (int c = 0; c < channels; c++) {
            for (int f = 0; f < fluorophores; f++) {
                double x = v[c * fluorophores + f];
                if (!Double.isFinite(x)) {
                    throw new IllegalArgumentException(
                            "spectra value at channel " + c + ", fluorophore " + f + " is not finite (" + x + ")");
                }
                if (x < 0) {
                    throw new IllegalArgumentException("spectra value at channel " + c + ", fluorophore " + f
                            + " is negative (" + x + "): emission spectra are non-negative");
                }
            }
        }
        for (int f = 0; f < fluorophores; f++) {
            boolean zero = true;
            for (int c = 0; c < channels && zero; c++) {
                zero = v[c * fluorophores + f] == 0;
            }
            if (zero) {
                throw new IllegalArgumentException("spectra column " + f
                        + " is all zero: every fluorophore needs some emission in at least one channel");
            }
        }
        double[] sv = singularValues(v, channels, fluorophores, fluorophores);
        double max = sv[sv.length - 1];
        if (sv[0] > RANK_TOLERANCE * max) {
            return max / sv[0];
        }
        int rank = 0;
        for (double s : sv) {
            if (s > RANK_TOLERANCE * max) {
                rank++;
            }
        }
        throw new IllegalArgumentException(describeDependentColumn(v, channels, fluorophores)
                + " (rank " + rank + " < " + fluorophores + " fluorophores): these fluorophores cannot be told apart");
    }

    /** Singular values of the leading {@code k} columns, ascending. */
    private static double[] singularValues(double[] v, int channels, int stride, int k) {
        double[] ev = SymmetricMatrices.eigenvalues(gram(v, channels, stride, k), k);
        double[] sv = new double[k];
        for (int i = 0; i < k; i++) {
            sv[i] = Math.sqrt(Math.max(ev[i], 0));
        }
        return sv;
    }

    /**
     * Names the first column that (numerically) lies in the span of the columns before it, and
     * which of those it is built from, so that a user can see which spectra to fix.
     */
    private static String describeDependentColumn(double[] v, int channels, int fluorophores) {
        double[] columnNorms = new double[fluorophores];
        double maxNorm = 0;
        for (int f = 0; f < fluorophores; f++) {
            for (int c = 0; c < channels; c++) {
                columnNorms[f] += v[c * fluorophores + f] * v[c * fluorophores + f];
            }
            columnNorms[f] = Math.sqrt(columnNorms[f]);
            maxNorm = Math.max(maxNorm, columnNorms[f]);
        }
        for (int f = 0; f < fluorophores; f++) {
            if (!(columnNorms[f] > RANK_TOLERANCE * maxNorm)) {
                return "spectra column " + f + " is negligibly weak (norm " + columnNorms[f]
                        + " against " + maxNorm + " for the strongest column)";
            }
        }
        int j = 1;
        for (; j < fluorophores; j++) {
            double[] sv = singularValues(v, channels, fluorophores, j + 1);
            if (!(sv[0] > RANK_TOLERANCE * sv[j])) {
                break;
            }
        }
        // Columns 0..j-1 are independent: express column j in them by least squares.
        double[] g = gram(v, channels, fluorophores, j);
        double[] gInv = SymmetricMatrices.inversePositiveDefinite(g, j);
        double[] rhs = new double[j];
        double normJ = 0;
        double[] norms = new double[j];
        for (int c = 0; c < channels; c++) {
            double x = v[c * fluorophores + j];
            normJ += x * x;
            for (int k = 0; k < j; k++) {
                rhs[k] += v[c * fluorophores + k] * x;
                norms[k] += v[c * fluorophores + k] * v[c * fluorophores + k];
            }
        }
        List<Integer> used = new ArrayList<>();
        for (int k = 0; k < j; k++) {
            double coef = 0;
            for (int i = 0; i < j; i++) {
                coef += gInv[k * j + i] * rhs[i];
            }
            if (Math.abs(coef) * Math.sqrt(norms[k]) > 1e-6 * Math.sqrt(normJ)) {
                used.add(k);
            }
        }
        if (used.size() == 1) {
            return "spectra column " + j + " is a multiple of column " + used.get(0);
        }
        StringJoiner names = new StringJoiner(", ");
        used.forEach(k -> names.add(Integer.toString(k)));
        return "spectra column " + j + " is a linear combination of columns " + names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReferenceSpectra other
                && channels == other.channels
                && fluorophores == other.fluorophores
                && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * channels + fluorophores) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "ReferenceSpectra[" + channels + " channels x " + fluorophores + " fluorophores: " + toText() + "]";
    }
}
