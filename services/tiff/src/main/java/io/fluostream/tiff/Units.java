package io.fluostream.tiff;

/** OME units of length and time, as factors to micrometres and seconds (NaN when unknown). */
final class Units {

    private Units() {
    }

    static double lengthFactorUm(String unit) {
        return switch (unit.trim()) {
            case "pm" -> 1e-6;
            case "Å", "\u212B", "angstrom" -> 1e-4;
            case "nm" -> 1e-3;
            case "µm", "\u03BCm", "um", "micron", "microns", "\\u00B5m" -> 1;
            case "mm" -> 1e3;
            case "cm" -> 1e4;
            case "m" -> 1e6;
            default -> Double.NaN;
        };
    }

    static double timeFactorS(String unit) {
        return switch (unit.trim()) {
            case "ns" -> 1e-9;
            case "µs", "\u03BCs", "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "s", "sec", "second", "seconds" -> 1;
            case "min" -> 60;
            case "h" -> 3600;
            default -> Double.NaN;
        };
    }
}
