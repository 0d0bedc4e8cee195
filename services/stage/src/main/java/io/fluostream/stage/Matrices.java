package io.fluostream.stage;

import java.util.StringJoiner;

/** The text form of matrix parameters: rows separated by ';', values by ',' (e.g. spectra). */
public final class Matrices {

    private Matrices() {
    }

    public static double[][] parse(String text) {
        String[] rows = text.trim().split("\\s*;\\s*");
        double[][] m = new double[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            String[] cells = rows[r].trim().split("\\s*,\\s*");
            if (r > 0 && cells.length != m[0].length) {
                throw new IllegalArgumentException("matrix row " + r + " has " + cells.length + " values but row 0 has " + m[0].length);
            }
            m[r] = new double[cells.length];
            for (int c = 0; c < cells.length; c++) {
                try {
                    m[r][c] = Double.parseDouble(cells[c]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("matrix value '" + cells[c] + "' at row " + r + ", column " + c + " is not a number");
                }
            }
        }
        return m;
    }

    public static String format(double[][] m) {
        StringJoiner rows = new StringJoiner(";");
        for (double[] row : m) {
            StringJoiner cells = new StringJoiner(",");
            for (double v : row) {
                cells.add(Double.toString(v));
            }
            rows.add(cells.toString());
        }
        return rows.toString();
    }
}
