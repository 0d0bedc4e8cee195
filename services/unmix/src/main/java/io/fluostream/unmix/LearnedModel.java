package io.fluostream.unmix;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.learning.unmix.LearnedUnmixer;
import java.io.IOException;

/**
 * The unmix stage's learned model: the one shipped with FluoStream, loaded once (on first use, or
 * at start when {@code method=learned} is configured), and the reasons it may not be used for a
 * frame — which the stage reports in provenance while it unmixes that frame by NNLS instead.
 *
 * <p>Loaded from the start-up thread or the stream thread, used from the stream thread.
 */
class LearnedModel implements AutoCloseable {

    /**
     * The learned abundances, or null with the reason the model was not used.
     *
     * @param abundances F × H × W abundances (ADU), or null
     * @param modelId    the model's id for provenance (when used)
     * @param refusal    why it was not used (when not)
     */
    record Outcome(Image abundances, String modelId, String refusal) {
    }

    private LearnedUnmixer model;
    private String unavailable;

    /** Loads the shipped model now if not yet tried; returns why it is unavailable, or null. */
    synchronized String load() {
        if (model == null && unavailable == null) {
            try {
                model = LearnedUnmixer.shipped();
            } catch (IOException | RuntimeException | LinkageError e) {
                unavailable = "learned model unavailable (" + e.getMessage() + "): unmixed by nnls";
            }
        }
        return unavailable;
    }

    synchronized Outcome unmix(ReferenceSpectra spectra, Image denoised) {
        String problem = load();
        if (problem != null) {
            return new Outcome(null, null, problem);
        }
        if (!model.trainedFor(spectra)) {
            return new Outcome(null, null, "learned model " + model.card().modelId() + " was trained for spectra "
                    + model.spectra().fingerprint() + ", not the configured " + spectra.fingerprint()
                    + ": unmixed by nnls; retrain it for these spectra (RetrainUnmixModel) or use method=nnls");
        }
        return new Outcome(model.unmix(denoised), model.card().modelId(), null);
    }

    @Override
    public synchronized void close() {
        if (model != null) {
            model.close();
        }
    }
}
