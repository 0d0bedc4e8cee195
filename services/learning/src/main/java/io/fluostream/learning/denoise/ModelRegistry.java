package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import io.fluostream.proto.ModelActivation;
import io.fluostream.proto.ModelRecord;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One replica's view of a stage's models: every version published on the model log, which one is
 * in force, and the loaded network serving frames.
 *
 * <p>Hot swap without stalling frames: {@link #apply} (called by whatever reads the model log — a
 * consumer thread in the service) loads and checks an activated version on <em>its</em> thread
 * and leaves it in a pending slot; the serving thread picks it up between two frames in
 * {@link #serving()} — one atomic exchange — and closes the model it replaced, which only it used.
 * Inference never waits for loading or training, and no frame is served by a half-loaded model.
 *
 * <p>A version that cannot serve (weights that do not load, a network that does not fit the
 * frames this replica sees) is refused: the reason is kept ({@link #lastRefusal()}) and the model
 * in force goes on serving.
 */
public final class ModelRegistry implements AutoCloseable {

    /** The classical method, as a serving choice. */
    private static final ServingModel CLASSICAL = null;

    private final String stage;
    private final Device device;
    private final Map<String, TrainedModel> versions = new LinkedHashMap<>();
    /** A loaded model waiting for the serving thread (or {@link #SWITCH_TO_CLASSICAL}). */
    private final AtomicReference<Object> pending = new AtomicReference<>();
    private static final Object SWITCH_TO_CLASSICAL = new Object();

    private volatile String activeId = ModelRecords.CLASSICAL_ID;
    /** Versions in force before the current one, newest last (from the model log, so alike on every replica). */
    private final java.util.ArrayDeque<String> history = new java.util.ArrayDeque<>();
    private volatile String lastRefusal;
    private volatile int[] frameShape;
    /** Only the serving thread touches this. */
    private ServingModel current = CLASSICAL;

    public ModelRegistry(String stage, Device device) {
        this.stage = stage;
        this.device = device;
    }

    public String stage() {
        return stage;
    }

    /** Applies one record of the model log: a new version is remembered, an activation put in force. */
    public void apply(ModelRecord record) {
        switch (record.getKindCase()) {
            case MODEL -> remember(record.getModel());
            case ACTIVATION -> activate(record.getActivation());
            default -> { }
        }
    }

    private synchronized void remember(TrainedModel m) {
        if (m.getStage().equals(stage)) {
            versions.put(ModelRecords.id(m), m);
        }
    }

    private void activate(ModelActivation a) {
        if (!a.getStage().equals(stage)) {
            return;
        }
        String id = a.getVersion() == ModelRecords.CLASSICAL_VERSION ? ModelRecords.CLASSICAL_ID : a.getName() + "/" + a.getVersion();
        if (id.equals(activeId)) {
            return; // already in force (e.g. the same activation arrived twice)
        }
        if (a.getVersion() == ModelRecords.CLASSICAL_VERSION) {
            offer(SWITCH_TO_CLASSICAL);
            switchTo(id, a.getReason());
            return;
        }
        TrainedModel m;
        synchronized (this) {
            m = versions.get(id);
        }
        if (m == null) {
            refuse("cannot activate " + id + ": no such version on the model log; known: " + ids());
            return;
        }
        try {
            ServingModel loaded = load(m);
            int[] shape = frameShape;
            String misfit = shape == null ? null : loaded.misfit(shape[0], shape[1], shape[2]);
            if (misfit != null) {
                loaded.close();
                refuse("refused " + id + ": " + misfit + "; " + activeId + " keeps serving");
                return;
            }
            offer(loaded);
            switchTo(id, a.getReason());
        } catch (MalformedModelException | RuntimeException e) {
            refuse("refused " + id + ": " + e.getMessage() + "; " + activeId + " keeps serving");
        }
    }

    /** Loads a version into a model that can serve (on the calling thread). */
    public ServingModel load(TrainedModel m) throws MalformedModelException {
        String id = ModelRecords.id(m);
        if (m.getFormat() == WeightsFormat.WEIGHTS_TORCHSCRIPT) {
            return TorchScriptModel.load(id, m.getWeights().toByteArray(), m.getArchitecture(), device);
        }
        if (m.getFormat() != WeightsFormat.WEIGHTS_DJL) {
            throw new MalformedModelException("model " + id + " has unknown weights format " + m.getFormat());
        }
        NetworkArchitecture a = m.getArchitecture();
        DenoiserDesign design;
        Normalisation norm;
        try {
            design = ModelRecords.design(a);
            norm = new Normalisation(a.getInputShift(), a.getInputScale());
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException("model " + id + " has a bad architecture: " + e.getMessage(), e);
        }
        return new UNetModel(id, DenoisingNetwork.load(design, norm, m.getWeights().toByteArray(), device));
    }

    private void offer(Object next) {
        Object replaced = pending.getAndSet(next);
        // Never taken by the serving thread, so nobody else holds it.
        if (replaced instanceof ServingModel s) {
            s.close();
        }
    }

    private synchronized void switchTo(String id, String reason) {
        if (ModelRecords.ROLL_BACK.equals(reason)) {
            history.pollLast();
        } else {
            history.addLast(activeId);
            if (history.size() > 64) {
                history.pollFirst();
            }
        }
        activeId = id;
    }

    /** The version that was in force before the current one, if known (what a roll back puts back). */
    public synchronized Optional<String> previousActive() {
        return Optional.ofNullable(history.peekLast());
    }

    private void refuse(String reason) {
        lastRefusal = reason;
    }

    /**
     * The model to serve the next frame with, or null for the classical method. Call from the serving
     * thread only, once per frame: a newly activated model takes over here.
     */
    public ServingModel serving() {
        Object next = pending.getAndSet(null);
        if (next != null) {
            if (current != null) {
                current.close();
            }
            current = next == SWITCH_TO_CLASSICAL ? CLASSICAL : (ServingModel) next;
        }
        return current;
    }

    /** The serving thread tells the registry what frames look like, so misfits are refused up front. */
    public void sawFrame(int channels, int height, int width) {
        int[] s = frameShape;
        if (s == null || s[0] != channels || s[1] != height || s[2] != width) {
            frameShape = new int[] {channels, height, width};
        }
    }

    /** The shape (channels, height, width) of the last frame served, if any. */
    public Optional<int[]> frameShape() {
        int[] s = frameShape;
        return s == null ? Optional.empty() : Optional.of(s.clone());
    }

    /** The version in force ("name/version"), or "classical". */
    public String activeId() {
        return activeId;
    }

    /** Why the last activation was refused, if one was. */
    public Optional<String> lastRefusal() {
        return Optional.ofNullable(lastRefusal);
    }

    /** Every version known, oldest first. */
    public synchronized List<TrainedModel> models() {
        List<TrainedModel> all = new ArrayList<>(versions.values());
        all.sort(Comparator.comparingLong(TrainedModel::getCreatedAtUs));
        return all;
    }

    public synchronized Optional<TrainedModel> model(String id) {
        return Optional.ofNullable(versions.get(id));
    }

    /** The next free version number of {@code name}. */
    public synchronized int nextVersion(String name) {
        int max = 0;
        for (TrainedModel m : versions.values()) {
            if (m.getName().equals(name)) {
                max = Math.max(max, m.getVersion());
            }
        }
        return max + 1;
    }

    private synchronized String ids() {
        return versions.isEmpty() ? "none" : String.join(", ", versions.keySet());
    }

    /** Closes the models this registry holds; call after the serving thread stopped. */
    @Override
    public void close() {
        Object p = pending.getAndSet(null);
        if (p instanceof ServingModel s) {
            s.close();
        }
        if (current != null) {
            current.close();
            current = null;
        }
    }
}
