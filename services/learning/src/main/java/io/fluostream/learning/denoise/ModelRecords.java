package io.fluostream.learning.denoise;

import io.fluostream.proto.ModelActivation;
import io.fluostream.proto.ModelRecord;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;

/** Keys and conversions of the model topic's records (see {@code model.proto}). */
public final class ModelRecords {

    /** The activation's version that means "serve the classical method". */
    public static final int CLASSICAL_VERSION = 0;
    public static final String CLASSICAL_ID = "classical";
    /**
     * The reason of an activation that rolls back: every replica's registry then drops the newest
     * entry of its activation history instead of adding one.
     */
    public static final String ROLL_BACK = "roll back";

    private ModelRecords() {
    }

    /** {@code <stage>/<model>/<version>}: every version keeps its own key, so compaction keeps them all. */
    public static String versionKey(TrainedModel m) {
        return m.getStage() + "/" + m.getName() + "/" + m.getVersion();
    }

    /** {@code <stage>/active}: compaction keeps the latest activation. */
    public static String activeKey(String stage) {
        return stage + "/active";
    }

    /** The id output frames name in provenance: {@code name/version}, e.g. {@code n2v-unet/3}. */
    public static String id(TrainedModel m) {
        return m.getName() + "/" + m.getVersion();
    }

    public static ModelRecord of(TrainedModel m) {
        return ModelRecord.newBuilder().setModel(m).build();
    }

    public static ModelRecord of(ModelActivation a) {
        return ModelRecord.newBuilder().setActivation(a).build();
    }

    /** "name/version" → (name, version); "classical" → (classical, 0). */
    public static ModelActivation activation(String stage, String id, String reason, String by) {
        ModelActivation.Builder b = ModelActivation.newBuilder().setStage(stage).setReason(reason).setBy(by)
                .setAtUs(System.currentTimeMillis() * 1000);
        if (CLASSICAL_ID.equals(id)) {
            return b.setName(CLASSICAL_ID).setVersion(CLASSICAL_VERSION).build();
        }
        int slash = id.lastIndexOf('/');
        if (slash <= 0 || slash == id.length() - 1) {
            throw new IllegalArgumentException("model id '" + id + "' is not of the form name/version (e.g. n2v-unet/3) or 'classical'");
        }
        int version;
        try {
            version = Integer.parseInt(id.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("model id '" + id + "' has no version number after the '/'", e);
        }
        if (version <= 0) {
            throw new IllegalArgumentException("model versions start at 1, got '" + id + "'");
        }
        return b.setName(id.substring(0, slash)).setVersion(version).build();
    }

    static DenoiserDesign design(NetworkArchitecture a) {
        return new DenoiserDesign(a.getChannels(), a.getContextFrames(), a.getBaseFeatures(), a.getDepth(), a.getClassicalGuide());
    }

    /** The architecture record of a design and its normalisation. */
    public static NetworkArchitecture architecture(DenoiserDesign d, Normalisation n) {
        return NetworkArchitecture.newBuilder()
                .setFamily("unet")
                .setChannels(d.channels())
                .setContextFrames(d.contextFrames())
                .setBaseFeatures(d.baseFeatures())
                .setDepth(d.depth())
                .setFold(DenoiserDesign.FOLD)
                .setClassicalGuide(d.classicalGuide())
                .setInputShift(n.shift())
                .setInputScale(n.scale())
                .build();
    }
}
