package io.fluostream.stage;

import io.fluostream.proto.Matrix;
import io.fluostream.proto.ParameterSpec;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.Parameters;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Between the control API's parameter messages and {@link StageParameters}' Java values. */
public final class ParameterMessages {

    private ParameterMessages() {
    }

    public static Object fromMessage(String name, ParameterValue v) {
        switch (v.getKindCase()) {
            case NUMBER:
                return v.getNumber();
            case INTEGER:
                return v.getInteger();
            case TEXT:
                return v.getText();
            case FLAG:
                return v.getFlag();
            case MATRIX: {
                Matrix m = v.getMatrix();
                if (m.getRows() == 0 || m.getCols() == 0 || (long) m.getRows() * m.getCols() != m.getValuesCount()) {
                    throw new InvalidParameterException(name, name + ": matrix declares " + m.getRows() + "x" + m.getCols()
                            + " but has " + m.getValuesCount() + " values");
                }
                double[][] out = new double[m.getRows()][m.getCols()];
                for (int r = 0; r < m.getRows(); r++) {
                    for (int c = 0; c < m.getCols(); c++) {
                        out[r][c] = m.getValues(r * m.getCols() + c);
                    }
                }
                return out;
            }
            default:
                throw new InvalidParameterException(name, name + " has no value");
        }
    }

    public static Map<String, Object> fromMessages(Map<String, ParameterValue> values) {
        Map<String, Object> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, fromMessage(k, v)));
        return out;
    }

    public static ParameterValue toMessage(Object v) {
        ParameterValue.Builder b = ParameterValue.newBuilder();
        if (v instanceof Double) {
            b.setNumber((Double) v);
        } else if (v instanceof Long) {
            b.setInteger((Long) v);
        } else if (v instanceof Boolean) {
            b.setFlag((Boolean) v);
        } else if (v instanceof double[][]) {
            double[][] m = (double[][]) v;
            Matrix.Builder mb = Matrix.newBuilder().setRows(m.length).setCols(m.length == 0 ? 0 : m[0].length);
            for (double[] row : m) {
                for (double x : row) {
                    mb.addValues(x);
                }
            }
            b.setMatrix(mb);
        } else {
            b.setText(String.valueOf(v));
        }
        return b.build();
    }

    public static Parameters toMessage(StageParameters parameters) {
        Parameters.Builder b = Parameters.newBuilder();
        parameters.current().asMap().forEach((k, v) -> b.putValues(k, toMessage(v)));
        for (Parameter p : parameters.specs()) {
            ParameterSpec.Builder s = ParameterSpec.newBuilder()
                    .setName(p.name())
                    .setDescription(p.description())
                    .setType(p.type().name().toLowerCase(Locale.ROOT))
                    .setUnit(p.unit())
                    .addAllChoices(p.choices());
            if (!Double.isNaN(p.min())) {
                s.setMin(p.min()).setMax(p.max());
            }
            b.addSpecs(s);
        }
        return b.build();
    }
}
