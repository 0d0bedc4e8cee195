package io.fluostream.tiff;

import java.util.List;
import java.util.Map;

/**
 * Acquisition metadata of a stack, as far as the file tells it. Zeros mean unknown.
 *
 * @param pixelSizeUm  physical size of a pixel along x, micrometres
 * @param frameIntervalS time between time points, seconds
 * @param exposureMs   exposure of the first plane, milliseconds
 * @param channels     one entry per channel (names and wavelengths may be unknown)
 * @param extra        anything else worth keeping with the frames, e.g. "ome.acquisition_date"
 */
public record StackMetadata(double pixelSizeUm, double frameIntervalS, double exposureMs,
                            List<ChannelInfo> channels, Map<String, String> extra) {

    public StackMetadata {
        channels = List.copyOf(channels);
        extra = Map.copyOf(extra);
    }
}
