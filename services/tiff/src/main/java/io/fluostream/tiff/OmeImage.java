package io.fluostream.tiff;

import java.util.Map;

/**
 * What an exported OME-TIFF holds: a time series of {@code sizeC} channels, one z plane.
 *
 * @param creator       software that wrote the file (no version-dependent timestamps)
 * @param deltaTSeconds time of each time point since the first, or null when unknown
 * @param annotations   key–value notes kept as an OME MapAnnotation, e.g. units of the channels
 */
public record OmeImage(String creator, String name, int sizeC, int sizeT, int height, int width, SampleType type,
                       StackMetadata metadata, double[] deltaTSeconds, Map<String, String> annotations) {

    public OmeImage {
        if (sizeC <= 0 || sizeT <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("OME image shape must be positive: " + sizeT + " T x " + sizeC + " C x "
                    + height + " x " + width);
        }
        if (deltaTSeconds != null && deltaTSeconds.length != sizeT) {
            throw new IllegalArgumentException("deltaT has " + deltaTSeconds.length + " entries for " + sizeT + " time points");
        }
        annotations = Map.copyOf(annotations);
    }

    public long planeBytes() {
        return (long) height * width * type.bytes();
    }
}
