namespace CallMedia.Calls;

public static class CallsRegistration
{
    /// <summary>Couples and media files: reads, the one writer, and who may see which couple.</summary>
    public static IServiceCollection AddCalls(this IServiceCollection services)
    {
        services.AddSingleton<CallStore>();
        services.AddSingleton<CoupleAccess>();
        services.AddSingleton<CallSearch>();
        return services;
    }
}
