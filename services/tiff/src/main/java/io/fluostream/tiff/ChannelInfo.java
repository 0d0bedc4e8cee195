package io.fluostream.tiff;

/**
 * What a file says about one channel. Wavelengths in nanometres; 0 means unknown.
 *
 * @param name e.g. "GFP"; empty when the file has none
 */
public record ChannelInfo(String name, double excitationNm, double emissionNm) {

    public ChannelInfo {
        name = name == null ? "" : name;
    }

    public static ChannelInfo named(String name) {
        return new ChannelInfo(name, 0, 0);
    }
}
