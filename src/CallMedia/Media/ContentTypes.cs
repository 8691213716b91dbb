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
