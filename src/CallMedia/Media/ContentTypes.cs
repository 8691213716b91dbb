namespace CallMedia.Media;

/// <summary>Content types by stored format (file extension).</summary>
public static class ContentTypes
{
    public static string ForFormat(string format) => format switch
    {
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" or "opus" => "audio/ogg",
        "m4a" => "audio/mp4",
        "mp4" => "video/mp4",
        "recd" or "mkv" => "video/x-matroska",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    };
}

/// <summary>
/// The ffmpeg demuxer each stored format is read with. ffmpeg never guesses the format of a stored file: a file
/// whose content is an HLS playlist or a concat script would make it read other recordings.
/// </summary>
public static class MediaFormats
{
    /// <summary>The demuxer for a stored format (extension; <c>recd</c> is Matroska, API.md §6), or null when none is allowed.</summary>
    public static string? Demuxer(string format) => format switch
    {
        "mp3" or "wav" or "flac" or "aac" or "mp4" or "m4a" or "mov" => format,
        "ogg" or "oga" or "opus" => "ogg",
        "recd" or "mkv" or "mka" or "webm" => "matroska",
        _ => null,
    };

    /// <summary>ffmpeg input options for a stored file: its declared format, local files only, then the file.</summary>
    public static string[] Input(string path, string format)
    {
        var demuxer = Demuxer(format) ?? throw new FfmpegException($"recordings stored as .{format} cannot be read");
        return ["-protocol_whitelist", "file", "-f", demuxer, "-i", "file:" + path];
    }

    /// <summary>Whether ffprobe's format name (e.g. <c>mov,mp4,m4a,3gp,3g2,mj2</c>) is the declared format's demuxer.</summary>
    public static bool Matches(string found, string format) =>
        Demuxer(format) is { } demuxer && found.Split(',').Contains(demuxer, StringComparer.Ordinal);
}
