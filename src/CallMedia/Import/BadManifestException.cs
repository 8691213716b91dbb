namespace CallMedia.Import;

/// <summary>A manifest that cannot be read as one (its header, or no header at all): the file is wrong, not the command line.</summary>
public sealed class BadManifestException(string message) : Exception(message);
