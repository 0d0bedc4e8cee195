package io.fluostream.imaging;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * The text form of small matrices (reference spectra, parameters in config and on the command
 * line): rows separated by ';', values by ','. {@link #format} writes the shortest decimals that
 * read back exactly.
 */
public final class MatrixText {

    private MatrixText() {
    }

    /** Parses rows; all rows must have the same length. */
    public static double[][] parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("matrix text is empty; expected rows of comma-separated values separated by ';'");
        }
        String body = text.strip();
        if (body.endsWith(";")) {
            body = body.substring(0, body.length() - 1);
        }
        String[] rowTexts = body.split(";", -1);
        List<double[]> rows = new ArrayList<>(rowTexts.length);
        for (int r = 0; r < rowTexts.length; r++) {
            if (rowTexts[r].isBlank()) {
                throw new IllegalArgumentException("matrix row " + r + " is empty in '" + text + "'");
            }
            String[] cells = rowTexts[r].split(",", -1);
            if (r > 0 && cells.length != rows.get(0).length) {
                throw new IllegalArgumentException("matrix row " + r + " has " + cells.length + " values but row 0 has " + rows.get(0).length);
            }
            double[] row = new double[cells.length];
            for (int k = 0; k < cells.length; k++) {
                String cell = cells[k].strip();
                try {
                    row[k] = Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("matrix row " + r + ", value " + k + ": '" + cell + "' is not a number", e);
                }
            }
            rows.add(row);
        }
        return rows.toArray(new double[0][]);
    }

    public static String format(double[][] rows) {
        StringJoiner out = new StringJoiner(";");
        for (double[] row : rows) {
            StringJoiner cells = new StringJoiner(",");
            for (double v : row) {
                cells.add(Double.toString(v));
            }
            out.add(cells.toString());
        }
        return out.toString();
    }
}
