package io.fluostream.learning.unmix;

import io.fluostream.imaging.unmix.ReferenceSpectra;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Properties;

/**
 * What a trained unmixing model is for and how it was made, stored beside its weights
 * ({@code <name>.properties}). The spectra matter most: the network learned one mixing matrix and
 * is wrong for any other, so {@link LearnedUnmixer} refuses frames whose configured spectra differ.
 *
 * @param spectra     the C × F spectra the training mixtures were made with
 * @param width       filters per hidden layer of {@link UnmixNetwork}
 * @param steps       optimiser steps
 * @param photonsMin  lowest photon level of the training frames
 * @param photonsMax  highest photon level of the training frames
 * @param frames      simulated training frames
 * @param finalLoss   mean training loss of the last steps (L2 on scaled abundances)
 * @param seconds     training time, s
 */
public record UnmixModelCard(ReferenceSpectra spectra, int width, int steps, double photonsMin, double photonsMax,
                             int frames, double finalLoss, double seconds) {

    public UnmixModelCard {
        if (spectra == null) {
            throw new IllegalArgumentException("a model card needs the spectra the model was trained for");
        }
        if (width < 1) {
            throw new IllegalArgumentException("width must be >= 1, got " + width);
        }
    }

    /** The spectra's fingerprint ({@link ReferenceSpectra#fingerprint()}), also the model's version. */
    public String fingerprint() {
        return spectra.fingerprint();
    }

    /** Model id for provenance: {@code unmix-cnn-<fingerprint>-w<width>-s<steps>}. */
    public String modelId() {
        return "unmix-cnn-" + fingerprint() + "-w" + width + "-s" + steps;
    }

    public void write(OutputStream out) throws IOException {
        Properties p = new Properties();
        p.setProperty("spectra", spectra.toText());
        p.setProperty("spectra.fingerprint", fingerprint());
        p.setProperty("width", Integer.toString(width));
        p.setProperty("steps", Integer.toString(steps));
        p.setProperty("photons.min", Double.toString(photonsMin));
        p.setProperty("photons.max", Double.toString(photonsMax));
        p.setProperty("frames", Integer.toString(frames));
        p.setProperty("loss.final", Double.toString(finalLoss));
        p.setProperty("training.seconds", String.format(Locale.ROOT, "%.1f", seconds));
        p.store(out, "FluoStream learned unmixing model (retrain: see LearnedUnmixer)");
    }

    /**
     * @throws IOException if the card cannot be read or lacks a field (the message names it)
     */
    public static UnmixModelCard read(InputStream in) throws IOException {
        Properties p = new Properties();
        p.load(in);
        try {
            return new UnmixModelCard(ReferenceSpectra.parse(required(p, "spectra")),
                    Integer.parseInt(required(p, "width")), Integer.parseInt(required(p, "steps")),
                    Double.parseDouble(required(p, "photons.min")), Double.parseDouble(required(p, "photons.max")),
                    Integer.parseInt(required(p, "frames")), Double.parseDouble(required(p, "loss.final")),
                    Double.parseDouble(p.getProperty("training.seconds", "0")));
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable unmixing model card: " + e.getMessage(), e);
        }
    }

    private static String required(Properties p, String key) throws IOException {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IOException("unmixing model card has no '" + key + "'");
        }
        return v;
    }
}
