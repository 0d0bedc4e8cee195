package io.fluostream.frames;

import java.nio.file.Path;

/**
 * Whether, and where, this process puts large pixel payloads in a {@link BlobStore} instead of the
 * Kafka record. Configured once per process from system properties, so every reader and writer of
 * frames (stages, rig, export, tests) agrees without threading a store through each call:
 *
 * <ul>
 *   <li>{@code fluostream.blobs.dir}: the shared directory; unset means all pixels stay inline;</li>
 *   <li>{@code fluostream.blobs.threshold-bytes}: encoded payloads above this go to the store
 *       (default 16 MiB, so a 2048×2048×4 raw frame, about 9 MiB compressed, stays inline while
 *       its float reconstructions, 40–50 MiB, do not).</li>
 * </ul>
 */
public final class ClaimCheck {

    public static final String DIR_PROPERTY = "fluostream.blobs.dir";
    public static final String THRESHOLD_PROPERTY = "fluostream.blobs.threshold-bytes";
    public static final long DEFAULT_THRESHOLD_BYTES = 16L * 1024 * 1024;

    private static volatile BlobStore store;
    private static volatile String configuredDir;

    private ClaimCheck() {
    }

    /** The store in force, or null when payloads stay inline. */
    public static BlobStore store() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            return null;
        }
        if (!dir.equals(configuredDir)) {
            synchronized (ClaimCheck.class) {
                if (!dir.equals(configuredDir)) {
                    store = new BlobStore(Path.of(dir));
                    configuredDir = dir;
                }
            }
        }
        return store;
    }

    public static long thresholdBytes() {
        return Long.getLong(THRESHOLD_PROPERTY, DEFAULT_THRESHOLD_BYTES);
    }
}
