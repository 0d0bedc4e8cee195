package io.fluostream.learning.denoise;

/** A model that cannot be put in force, with what was wrong; the model in force keeps serving. */
public final class ModelRefusedException extends Exception {

    public ModelRefusedException(String message) {
        super(message);
    }
}
