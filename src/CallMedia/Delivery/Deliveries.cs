using CallMedia.Delivery.Zip;
using CallMedia.Storage;

namespace CallMedia.Delivery;

/// <summary>What a send call file request gets, decided before the first byte (the delivery plan).</summary>
public abstract record Delivery;

/// <summary>
/// A stored or cached file, sent with range support; <paramref name="Stored"/> is the object as planning saw it (the
/// send does not look again), null to look when sending.
/// </summary>
public sealed record FileDelivery(string Path, string ContentType, string FileName, bool Inline, string ETag, StoredObject? Stored = null) : Delivery;

/// <summary>A stored zip computed up front, sent with range support.</summary>
public sealed record ZipDelivery(ZipLayout Layout, string FileName, string ETag, DateTimeOffset LastModified) : Delivery;

/// <summary>A transcode in progress, streamed as it is produced (no length, no ranges until it is cached).</summary>
public sealed record LiveDelivery(Media.LiveTranscode Live, IDisposable Listener, string FileName) : Delivery;

/// <summary>A prepare request: mix the couple's capture with its audio (API.md §3, §6).</summary>
public sealed record PrepareDelivery(long CoupleId) : Delivery;

/// <summary>An error in the CallREC framing.</summary>
public sealed record FailedDelivery(int Status, int Number, string Message) : Delivery;
