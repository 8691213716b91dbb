using CallMedia.Hosting;

namespace CallMedia.Media;

public static class MediaRegistration
{
    /// <summary>ffmpeg, the transcode cache, the mixer and prepare jobs (the worker runs only in the server: <see cref="AddPrepareWorker"/>).</summary>
    public static IServiceCollection AddMedia(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<MediaOptions>(configuration, MediaOptions.Section);
        services.AddSingleton<Ffmpeg>();
        services.AddSingleton<MediaProbe>();
        services.AddSingleton<TranscodeCache>();
        services.AddSingleton<WaveformPeaks>();
        services.AddSingleton<VideoMixer>();
        services.AddSingleton<PrepareJobs>();
        services.AddSingleton<PrepareRunner>();
        return services;
    }

    public static IServiceCollection AddPrepareWorker(this IServiceCollection services) =>
        services.AddHostedService<PrepareWorker>();
}
