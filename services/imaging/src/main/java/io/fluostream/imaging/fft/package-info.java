/**
 * Discrete Fourier transforms of any length in pure Java: {@link io.fluostream.imaging.fft.ComplexFft}
 * (1-D, mixed radix 2/3/4/5 and small primes, Bluestein for large primes) and
 * {@link io.fluostream.imaging.fft.ComplexFft2d} (row-major planes, with a half-cost inverse for
 * spectra of real planes). Split format: real and imaginary parts in separate {@code double[]}.
 */
package io.fluostream.imaging.fft;
