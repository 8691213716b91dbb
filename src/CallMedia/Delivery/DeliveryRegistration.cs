using CallMedia.Media;
using CallMedia.Tokens;

namespace CallMedia.Delivery;

public static class DeliveryRegistration
{
    /// <summary>What a redeemed token delivers, and the prepare answer of API.md §3.</summary>
    public static IServiceCollection AddDelivery(this IServiceCollection services)
    {
        services.AddSingleton<DeliveryPlanner>();
        services.AddSingleton<AccelRedirect>();
        services.AddSingleton<TransferRecords>();
        services.AddSingleton<PrepareResponder>();
        services.AddOptions<DeliverySettings>().BindConfiguration(DeliverySettings.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ChannelProbe>();
        services.AddSingleton<DeliveryOptionsReader>();
        services.AddSingleton<ITokenExtrasReader>(s => s.GetRequiredService<DeliveryOptionsReader>());
        return services;
    }
}
