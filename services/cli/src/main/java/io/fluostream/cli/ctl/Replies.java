package io.fluostream.cli.ctl;

import com.google.protobuf.Message;
import io.fluostream.proto.CommandReceipt;
import io.fluostream.proto.ModelInfo;
import io.fluostream.proto.ParameterSpec;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.Parameters;
import io.fluostream.proto.StageReply;
import io.fluostream.proto.StageStatus;
import io.fluostream.proto.StreamStatus;
import java.util.Map;
import java.util.TreeMap;

/** Control API replies as text a person reads at a glance. */
final class Replies {

    private Replies() {
    }

    static String text(Message m) {
        if (m instanceof StageStatus s) {
            return status(s);
        }
        if (m instanceof Parameters p) {
            return parameters(p);
        }
        if (m instanceof StageReply r) {
            return reply(r);
        }
        return m.toString();
    }

    static String status(StageStatus s) {
        StringBuilder b = new StringBuilder();
        b.append(s.getStage()).append("  ").append(s.getInstance()).append("  ").append(s.getState())
                .append("  method ").append(s.getMethod().isEmpty() ? "-" : s.getMethod());
        if (!s.getModelVersion().isEmpty()) {
            b.append("  model ").append(s.getModelVersion());
        }
        b.append("  device ").append(s.getDevice()).append('\n');
        b.append("  frames in ").append(s.getFramesIn()).append("  out ").append(s.getFramesOut())
                .append("  rejected ").append(s.getFramesRejected())
                .append("  lag ").append(s.getLag() < 0 ? "unknown" : Long.toString(s.getLag()))
                .append("   ").append(s.getInputTopic()).append(" -> ").append(s.getOutputTopic()).append('\n');
        b.append("  paused streams: ").append(s.getPausedStreamsCount() == 0 ? "none" : String.join(", ", s.getPausedStreamsList()))
                .append("   control offset ").append(s.getControlOffset()).append('\n');
        b.append("  parameters: ").append(values(s.getParametersMap())).append('\n');
        if (s.getStreamsCount() > 0) {
            b.append("  streams:\n");
            for (StreamStatus st : s.getStreamsList()) {
                b.append("    ").append(st.getStreamId()).append("  last ").append(st.getLastSequence())
                        .append("  frames ").append(st.getFrames()).append("  dropped ").append(st.getDropped());
                if (st.getPaused() || st.getParked() > 0) {
                    b.append("  [").append(st.getPaused() ? "paused" : "resuming").append(", ").append(st.getParked()).append(" held]");
                }
                b.append('\n');
            }
        }
        if (s.hasReceipt()) {
            b.append(receipt(s.getReceipt())).append('\n');
        }
        return b.toString().stripTrailing();
    }

    static String parameters(Parameters p) {
        StringBuilder b = new StringBuilder();
        for (ParameterSpec spec : p.getSpecsList()) {
            ParameterValue v = p.getValuesMap().get(spec.getName());
            b.append(String.format("%-18s = %-14s %s", spec.getName(), v == null ? "(none)" : value(v), spec.getType()));
            if (spec.getChoicesCount() > 0) {
                b.append(" {").append(String.join(", ", spec.getChoicesList())).append('}');
            } else if (spec.getMin() != 0 || spec.getMax() != 0) {
                b.append(" [").append(num(spec.getMin())).append(", ").append(num(spec.getMax())).append(']');
            }
            if (!spec.getUnit().isEmpty()) {
                b.append(' ').append(spec.getUnit());
            }
            b.append("  ").append(spec.getDescription()).append('\n');
        }
        if (p.hasReceipt()) {
            b.append(receipt(p.getReceipt())).append('\n');
        }
        return b.toString().stripTrailing();
    }

    static String reply(StageReply r) {
        StringBuilder b = new StringBuilder();
        b.append(r.getStage()).append(" (").append(r.getInstance()).append("): ").append(r.getMessage()).append('\n');
        if (r.getValuesCount() > 0) {
            b.append("  ").append(values(r.getValuesMap())).append('\n');
        }
        if (r.hasSpectra()) {
            b.append("  spectra: ").append(CtlCommand.matrixText(r.getSpectra())).append('\n');
        }
        if (r.hasTraining()) {
            var t = r.getTraining();
            b.append("  training: ").append(t.getRunning() ? "running" : "not running").append("  step ").append(t.getStep())
                    .append('/').append(t.getSteps()).append("  loss ").append(t.getLoss())
                    .append(t.getModelId().isEmpty() ? "" : "  model " + t.getModelId())
                    .append(t.getMessage().isEmpty() ? "" : "  " + t.getMessage()).append('\n');
        }
        for (ModelInfo m : r.getModelsList()) {
            b.append("  ").append(m.getActive() ? "* " : "  ").append(m.getId()).append("  ").append(m.getVersion())
                    .append(m.getSource().isEmpty() ? "" : "  " + m.getSource()).append('\n');
        }
        if (r.hasReceipt()) {
            b.append(receipt(r.getReceipt())).append('\n');
        }
        return b.toString().stripTrailing();
    }

    static String receipt(CommandReceipt r) {
        return "  applied by " + r.getReplicasApplied() + " of " + (r.getReplicasKnown() == 0 ? "?" : Integer.toString(r.getReplicasKnown()))
                + " replicas (" + String.join(", ", r.getAppliedByList()) + "); command " + r.getCommandId()
                + " at control offset " + r.getOffset();
    }

    private static String values(Map<String, ParameterValue> m) {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(m).forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(k).append('=').append(value(v)));
        return b.length() == 0 ? "none" : b.toString();
    }

    private static String value(ParameterValue v) {
        switch (v.getKindCase()) {
            case NUMBER:
                return num(v.getNumber());
            case INTEGER:
                return Long.toString(v.getInteger());
            case FLAG:
                return Boolean.toString(v.getFlag());
            case MATRIX:
                return CtlCommand.matrixText(v.getMatrix());
            case TEXT:
                return v.getText();
            default:
                return "";
        }
    }

    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
