package io.fluostream.imaging;

/**
 * Whether this JVM can run the kernels' Vector API fast paths: it was started with
 * {@code --add-modules jdk.incubator.vector} (the launcher, the stage processes and the tests do
 * so). Checked without touching the incubator's classes, so a class that uses them is loaded only
 * where they exist; without the module every kernel runs its scalar code, with the same answers
 * to rounding.
 */
public final class VectorApi {

    private static final boolean PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorApi() {
    }

    public static boolean present() {
        return PRESENT;
    }
}
