package io.fluostream.stage;

import io.fluostream.imaging.MatrixText;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * One parameter a stage accepts: its type, allowed range or choices, default and a description a
 * user can act on. {@link #check} turns a bad value into a message that names the parameter and
 * what is allowed.
 *
 * <p>Values are plain Java objects: {@code Double} (number), {@code Long} (integer),
 * {@code String} (text), {@code Boolean} (flag), {@code double[][]} (matrix, rows).
 */
public final class Parameter {

    public enum Type { NUMBER, INTEGER, TEXT, FLAG, MATRIX }

    private final String name;
    private final Type type;
    private final String description;
    private final String unit;
    private final double min;
    private final double max;
    private final List<String> choices;
    private final Object defaultValue;
    private final Function<Object, String> extraCheck;

    private Parameter(String name, Type type, String description, String unit, double min, double max,
                      List<String> choices, Object defaultValue, Function<Object, String> extraCheck) {
        this.name = name;
        this.type = type;
        this.description = description;
        this.unit = unit;
        this.min = min;
        this.max = max;
        this.choices = choices;
        this.defaultValue = defaultValue;
        this.extraCheck = extraCheck;
    }

    public static Parameter number(String name, double min, double max, double defaultValue, String unit, String description) {
        return new Parameter(name, Type.NUMBER, description, unit, min, max, List.of(), defaultValue, v -> null);
    }

    public static Parameter integer(String name, long min, long max, long defaultValue, String description) {
        return new Parameter(name, Type.INTEGER, description, "", min, max, List.of(), defaultValue, v -> null);
    }

    public static Parameter choice(String name, List<String> choices, String defaultValue, String description) {
        return new Parameter(name, Type.TEXT, description, "", Double.NaN, Double.NaN, List.copyOf(choices), defaultValue, v -> null);
    }

    public static Parameter flag(String name, boolean defaultValue, String description) {
        return new Parameter(name, Type.FLAG, description, "", Double.NaN, Double.NaN, List.of(), defaultValue, v -> null);
    }

    /**
     * A matrix parameter. {@code check} returns null when the matrix is acceptable, or a message
     * saying what is wrong; {@code defaultValue} may be null (no default).
     */
    public static Parameter matrix(String name, double[][] defaultValue, Function<double[][], String> check, String description) {
        return new Parameter(name, Type.MATRIX, description, "", Double.NaN, Double.NaN, List.of(), defaultValue,
                v -> check.apply((double[][]) v));
    }

    public String name() {
        return name;
    }

    public Type type() {
        return type;
    }

    public String description() {
        return description;
    }

    public String unit() {
        return unit;
    }

    public double min() {
        return min;
    }

    public double max() {
        return max;
    }

    public List<String> choices() {
        return choices;
    }

    public Object defaultValue() {
        return defaultValue;
    }

    /** The allowed values in words, for error messages and help. */
    public String allowed() {
        switch (type) {
            case NUMBER:
                return "a number in [" + fmt(min) + ", " + fmt(max) + "]" + (unit.isEmpty() ? "" : " " + unit);
            case INTEGER:
                return "an integer in [" + (long) min + ", " + (long) max + "]";
            case TEXT:
                return "one of " + String.join(", ", choices);
            case FLAG:
                return "true or false";
            default:
                return "a matrix";
        }
    }

    /** Converts and checks a value; throws {@link InvalidParameterException} naming what was wrong. */
    public Object check(Object value) {
        Object v = coerce(value);
        String problem = null;
        switch (type) {
            case NUMBER: {
                double d = (Double) v;
                if (!Double.isFinite(d) || d < min || d > max) {
                    problem = "got " + value;
                }
                break;
            }
            case INTEGER: {
                long l = (Long) v;
                if (l < min || l > max) {
                    problem = "got " + value;
                }
                break;
            }
            case TEXT:
                if (!choices.isEmpty() && !choices.contains(v)) {
                    problem = "got '" + value + "'";
                }
                break;
            default:
                break;
        }
        if (problem != null) {
            throw new InvalidParameterException(name, name + " must be " + allowed() + "; " + problem);
        }
        String extra = extraCheck.apply(v);
        if (extra != null) {
            throw new InvalidParameterException(name, name + ": " + extra);
        }
        return v;
    }

    private Object coerce(Object value) {
        if (value == null) {
            throw new InvalidParameterException(name, name + " must be " + allowed() + "; got nothing");
        }
        switch (type) {
            case NUMBER:
                if (value instanceof Number) {
                    return ((Number) value).doubleValue();
                }
                if (value instanceof String) {
                    try {
                        return Double.parseDouble(((String) value).trim());
                    } catch (NumberFormatException e) {
                        break;
                    }
                }
                break;
            case INTEGER:
                if (value instanceof Long || value instanceof Integer) {
                    return ((Number) value).longValue();
                }
                if (value instanceof Double && ((Double) value) == Math.rint((Double) value)) {
                    return ((Double) value).longValue();
                }
                if (value instanceof String) {
                    try {
                        return Long.parseLong(((String) value).trim());
                    } catch (NumberFormatException e) {
                        break;
                    }
                }
                break;
            case TEXT:
                if (value instanceof String) {
                    return ((String) value).trim().toLowerCase(Locale.ROOT);
                }
                break;
            case FLAG:
                if (value instanceof Boolean) {
                    return value;
                }
                if ("true".equalsIgnoreCase(String.valueOf(value)) || "false".equalsIgnoreCase(String.valueOf(value))) {
                    return Boolean.parseBoolean(String.valueOf(value));
                }
                break;
            case MATRIX:
                if (value instanceof double[][]) {
                    return value;
                }
                if (value instanceof String) {
                    try {
                        return MatrixText.parse((String) value);
                    } catch (IllegalArgumentException e) {
                        throw new InvalidParameterException(name, name + ": " + e.getMessage());
                    }
                }
                break;
            default:
                break;
        }
        throw new InvalidParameterException(name, name + " must be " + allowed() + "; got " + describe(value));
    }

    private static String describe(Object value) {
        return value instanceof String ? "'" + value + "'" : value + " (" + value.getClass().getSimpleName() + ")";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
